package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkRunsFileTest {

    @TempDir
    Path tmp;

    @Test
    void runsRoundTrip() throws IOException {
        List<ClusterRun> runs = List.of(new ClusterRun(0, 3, ClusterKind.UNALLOCATED, -1),
                new ClusterRun(3, 5, ClusterKind.DATA, 17), new ClusterRun(8, 1, ClusterKind.ZERO, -1));
        Path file = tmp.resolve(ChunkTasks.chunkFileName(7));
        ChunkTasks.writeRuns(file, runs);
        assertEquals(runs, ChunkTasks.readRuns(file));
        assertEquals("000000000007.runs", file.getFileName().toString());
    }

    @Test
    void garbageIsRejected() throws IOException {
        Path file = tmp.resolve("x.runs");
        Files.write(file, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertThrows(IOException.class, () -> ChunkTasks.readRuns(file));
    }

    @Test
    void finalizeRefusesAnIncompleteLayer(@TempDir Path dest) throws IOException {
        ChunkTasks.Layer layer = new ChunkTasks.Layer("job-1", dest.resolve("l.qcow2"), 1 << 20, 16, null, null);
        ChunkTasks.writeRuns(Files.createDirectories(dest.resolve(".l.qcow2.partial.chunks"))
                .resolve(ChunkTasks.chunkFileName(0)), List.of(new ClusterRun(0, 16, ClusterKind.ZERO, -1)));
        IOException e = assertThrows(IOException.class, () -> ChunkTasks.finalizeLayer(layer, 2));
        assertEquals("chunk 1 of 2 has not been copied", e.getMessage());
        assertEquals(false, Files.exists(dest.resolve("l.qcow2")));
    }
}
