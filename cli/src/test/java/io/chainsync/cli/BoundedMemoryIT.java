package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Exec;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuImg;
import io.chainsync.testkit.QemuNbdServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/chainsync copy} in a JVM limited to 256 MiB of heap (docs/design.md, "The destination
 * format"): layers whose metadata or scan would not fit in that heap if held whole are copied
 * exactly. Before the writer and the scan streamed, the sparse 8 TiB layer died with
 * {@code OutOfMemoryError} here (its L2 tables alone take 256 MiB).
 */
class BoundedMemoryIT {

    private static final String HEAP = "-Xmx256m";

    @TempDir
    Path tmp;

    /**
     * A sparse 8 TiB layer with 4,096 scattered 64 KiB writes, each in its own L2 table (the
     * benchmark, bench/memory.sh, uses 8,192): 256 MiB of L2 tables.
     */
    @Test
    @Timeout(600)
    void sparseEightTiBLayer() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path big = src.resolve("big.qcow2");
        QemuImg.create(big, "qcow2", 8L << 40);
        List<String> io = new ArrayList<>(List.of("qemu-io", "-t", "unsafe", "-f", "qcow2"));
        int writes = 4096;
        for (int i = 0; i < writes; i++) {
            long at = (long) i * (2L << 30) + (long) (i * 37 % 2000) * (1 << 20); // one per 2 GiB, spread
            io.add("-c");
            io.add("write -q -P " + (i % 250 + 1) + " " + at + " 64k");
        }
        io.add(big.toString());
        Exec.run(io, Duration.ofMinutes(5), src).expectSuccess();
        copyWithBoundedHeapAndJudge(new Chain(src, List.of(new Layer("big.qcow2", big, "qcow2"))));
    }

    /**
     * A layer of 4 KiB clusters alternating data and zero clusters (16,384 of each: 32,768 extents
     * per context; bench/memory.sh runs 1 Mi) above a base full of data: every zero cluster must
     * hide the base, so a copier that skips holes fails here.
     */
    @Test
    @Timeout(600)
    void manyExtentLayer() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        long size = 128L << 20;
        Path base = src.resolve("base.qcow2");
        QemuImg.create(base, "qcow2", size);
        QemuImg.io(base, "qcow2", "write -P 0x55 0 " + size);
        Path raw = tmp.resolve("alternating.raw");
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer block = ByteBuffer.allocate(4096);
            for (long at = 0; at < size; at += 8192) {
                block.clear();
                block.putLong(0, at | 1); // never all zeros
                ch.write(block, at);
            }
            ch.truncate(size);
            ch.write(ByteBuffer.allocate(1), size - 1);
        }
        Path top = src.resolve("top.qcow2");
        // with a backing file the target is not zero-initialised: every zero block becomes a zero cluster
        Exec.run(List.of("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096",
                "-B", "base.qcow2", "-F", "qcow2", raw.toString(), top.toString()), Duration.ofMinutes(5), src)
                .expectSuccess();
        Files.delete(raw);
        long zeroClusters = QemuImg.mapAlone(top, "qcow2").stream().filter(e -> e.zero() && e.present()).count();
        assertEquals(size / 8192, zeroClusters, "the source alternates data and zero clusters");
        copyWithBoundedHeapAndJudge(new Chain(src, List.of(new Layer("base.qcow2", base, "qcow2"),
                new Layer("top.qcow2", top, "qcow2"))));
    }

    private void copyWithBoundedHeapAndJudge(Chain chain) throws IOException {
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        Path dest = tmp.resolve("dest");
        List<NbdServer> servers = new ArrayList<>();
        try {
            Path chainsync = Path.of("").toAbsolutePath().getParent().resolve("bin").resolve("chainsync");
            List<String> cmd = new ArrayList<>(List.of("env", "JAVA_OPTS=" + HEAP, chainsync.toString(), "copy",
                    "--dest", dest.toString()));
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, sockets);
                servers.add(server);
                cmd.add("--layer");
                cmd.add(layer.name() + "=" + server.uri());
            }
            Exec.Result r = Exec.run(cmd, Duration.ofMinutes(8), null);
            assertEquals(0, r.exitCode(), r.commandLine() + "\n" + r.stdout() + r.stderr());
        } finally {
            servers.forEach(NbdServer::close);
        }
        ChainJudge.assertExact(chain, dest);
    }
}
