package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Exec;
import io.chainsync.testkit.LargeLayers;
import io.chainsync.testkit.ServedChain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
     * A sparse 8 TiB layer with 4,096 scattered 64 KiB writes (each 64th a zero write), each
     * in its own L2 table (the benchmark, bench/memory.sh, uses 8,192): 256 MiB of L2 tables.
     */
    @Test
    @Timeout(600)
    void sparseEightTiBLayer() throws Exception {
        copyWithBoundedHeapAndJudge(LargeLayers.sparse(tmp.resolve("src"), 8L << 40, 4096));
    }

    /**
     * A layer of 4 KiB clusters alternating data and zero clusters (16,384 of each: 32,768 extents
     * per context; bench/memory.sh runs 1 Mi) above a base full of data: every zero cluster must
     * hide the base, so a copier that skips holes fails here.
     */
    @Test
    @Timeout(600)
    void manyExtentLayer() throws Exception {
        copyWithBoundedHeapAndJudge(LargeLayers.alternatingOverFullBase(tmp.resolve("src"), 128L << 20));
    }

    private void copyWithBoundedHeapAndJudge(Chain chain) throws IOException {
        Path dest = tmp.resolve("dest");
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            Path chainsync = Path.of("").toAbsolutePath().getParent().resolve("bin").resolve("chainsync");
            List<String> cmd = new ArrayList<>(List.of("env", "JAVA_OPTS=" + HEAP, chainsync.toString(), "copy",
                    "--dest", dest.toString()));
            cmd.addAll(served.layerArgs());
            Exec.Result r = Exec.run(cmd, Duration.ofMinutes(8), null);
            assertEquals(0, r.exitCode(), r.commandLine() + "\n" + r.stdout() + r.stderr());
        }
        ChainJudge.assertExact(chain, dest);
    }
}
