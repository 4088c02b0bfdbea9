package io.chainsync.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The layers of issue 9 that no copier may hold in memory whole (docs/design.md §4): a sparse
 * layer of several TiB with scattered writes, and a layer with one extent per 4 KiB cluster.
 */
public final class LargeLayers {

    private static final long KIB = 1024;

    private LargeLayers() {
    }

    /**
     * One qcow2 layer {@code big.qcow2} of {@code size} bytes (64 KiB clusters) with {@code writes}
     * 64 KiB writes, one at a random cluster of each {@code size / writes} stretch, each 64th a
     * zero write (so that the layer is no trivial copy). Each write needs its own L2 table when
     * the stretches are larger than an L2 table's reach (512 MiB).
     */
    public static Chain sparse(Path dir, long size, int writes) {
        Random rnd = new Random(9);
        long stride = size / writes;
        Chain chain = ChainBuilder.in(dir).base("big.qcow2", size, ChainBuilder.DEFAULT_CLUSTER).build();
        // one qemu-io, write-back cache without flushes
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "qcow2", "-t", "unsafe"));
        for (int i = 0; i < writes; i++) {
            long offset = i * stride + rnd.nextInt(1 << 16) * 64 * KIB % stride;
            cmd.add("-c");
            cmd.add(i % 64 == 63 ? "write -z " + offset + " 64k"
                    : "write -P 0x" + Integer.toHexString(1 + i % 255) + " " + offset + " 64k");
        }
        cmd.add(chain.layers().get(0).path().toString());
        Exec.run(cmd, Duration.ofMinutes(8), dir).expectSuccess();
        return chain;
    }

    /**
     * Two qcow2 layers of {@code size} bytes: {@code base.qcow2} full of data, and
     * {@code top.qcow2} (4 KiB clusters) alternating a data cluster and a zero cluster, so
     * {@code size / 4096} extents per context. Every zero cluster must hide the base: a copier that
     * skips holes gets half of the top layer wrong.
     */
    public static Chain alternatingOverFullBase(Path dir, long size) {
        try {
            Files.createDirectories(dir);
            Path base = dir.resolve("base.qcow2");
            QemuImg.create(base, "qcow2", size);
            QemuImg.io(base, "qcow2", "write -P 0x55 0 " + size);
            Path raw = dir.resolve("alternating.raw");
            try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer block = ByteBuffer.allocate(4096);
                for (long at = 0; at < size; at += 8192) {
                    block.clear();
                    block.putLong(0, at | 1); // never all zeros
                    ch.write(block, at);
                }
                ch.write(ByteBuffer.allocate(1), size - 1);
            }
            Path top = dir.resolve("top.qcow2");
            // with a backing file the target is not zero-initialised: every zero block becomes a zero cluster
            Exec.run(List.of("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096",
                    "-B", "base.qcow2", "-F", "qcow2", raw.toString(), top.toString()), Duration.ofMinutes(5), dir)
                    .expectSuccess();
            Files.delete(raw);
            long zeroClusters = QemuImg.mapAlone(top, "qcow2").stream().filter(e -> e.zero() && e.present()).count();
            if (zeroClusters != size / 8192) {
                throw new IllegalStateException("top.qcow2 has " + zeroClusters + " zero clusters, not "
                        + size / 8192);
            }
            return new Chain(dir, List.of(new Layer("base.qcow2", base, "qcow2"), new Layer("top.qcow2", top, "qcow2")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
