package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.core.ClusterRun;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A distributed layer's finalize, crashed at each of its steps and run again, delivered again
 * after it finished, and followed by a redelivered COPY: the layer stays exact (docs/design.md
 * §4) and nothing but the layers and their manifests is left in the destination.
 *
 * <p>The seed top layer ({@link SeedTop}), its runs split over two chunks.
 */
@Timeout(120)
class FinalizeCrashIT {

    private static final List<ClusterRun> CHUNK0 = SeedTop.CHUNK0;
    private static final List<ClusterRun> CHUNK1 = SeedTop.CHUNK1;

    @TempDir
    static Path shared;
    private static SeedTop seed;
    private static Chain source;

    @TempDir
    Path dest;

    @BeforeAll
    static void serve() {
        seed = new SeedTop(shared);
        source = seed.source;
    }

    @AfterAll
    static void stop() {
        seed.close();
    }

    @AfterEach
    void noCrash() {
        ChunkTasks.crashPoint = step -> { };
    }

    private ChunkTasks.Layer top(String job) throws IOException {
        Files.copy(source.bottom().path(), dest.resolve(source.bottom().name()),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return seed.layer(job, dest.resolve("top.qcow2"));
    }

    private long copy(ChunkTasks.Layer layer, long chunk, List<ClusterRun> runs) throws IOException {
        return seed.copy(layer, chunk, runs);
    }

    private Set<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dest)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private void assertFinishedAndClean(String job) throws IOException {
        ChainJudge.judge(source, dest).assertExact();
        assertEquals(new TreeSet<>(Set.of("base.qcow2", "top.qcow2", "top.qcow2.manifest.json")), files());
        LayerManifest manifest = LayerManifest.read(dest.resolve("top.qcow2.manifest.json"));
        assertNotNull(manifest);
        assertEquals(job, manifest.job());
        assertEquals(1, manifest.dataClusters());
    }

    @ParameterizedTest
    @EnumSource(ChunkTasks.FinalizeStep.class)
    void aCrashAtAnyStepIsRecoveredByRunningFinalizeAgain(ChunkTasks.FinalizeStep crashAt) throws IOException {
        ChunkTasks.Layer layer = top("job-crash");
        assertEquals(64 << 10, copy(layer, 0, CHUNK0));
        assertEquals(0, copy(layer, 1, CHUNK1));
        ChunkTasks.crashPoint = step -> {
            if (step == crashAt) {
                throw new IllegalStateException("crash before " + step);
            }
        };
        assertThrows(IllegalStateException.class, () -> ChunkTasks.finalizeLayer(layer, 2));
        ChunkTasks.crashPoint = step -> { };
        ChunkTasks.finalizeLayer(layer, 2);
        assertFinishedAndClean("job-crash");
    }

    /**
     * A job that replaces an existing {@code top.qcow2} (here an unrelated image without backing),
     * crashed before each finalize step, then a COPY delivered again, then finalize run again: the
     * new layer replaces the old one exactly. Between the manifest and the rename both the old
     * layer and the finished temporary file exist; the manifest's file identity tells the finished
     * file from a stale one, so the COPY must not remove it and the finalize must rename it.
     */
    @ParameterizedTest
    @EnumSource(ChunkTasks.FinalizeStep.class)
    void aReplacingFinalizeCrashedAtAnyStepReplacesTheLayerWhenRunAgain(ChunkTasks.FinalizeStep crashAt)
            throws IOException {
        ChunkTasks.Layer plain = top("job-replace");
        Files.copy(source.bottom().path(), plain.target()); // the layer to replace: another image
        ChunkTasks.Layer layer = new ChunkTasks.Layer("job-replace", plain.target(), plain.virtualSize(),
                plain.clusterBits(), plain.backingName(), plain.backingFormat(), true,
                List.of("base.qcow2", "top.qcow2"));
        assertThrows(LayerExistsException.class, () -> copy(plain, 0, CHUNK0), "refused without replace");
        copy(layer, 0, CHUNK0);
        copy(layer, 1, CHUNK1);
        ChunkTasks.crashPoint = step -> {
            if (step == crashAt) {
                throw new IllegalStateException("crash before " + step);
            }
        };
        assertThrows(IllegalStateException.class, () -> ChunkTasks.finalizeLayer(layer, 2));
        ChunkTasks.crashPoint = step -> { };
        if (crashAt != ChunkTasks.FinalizeStep.CLEANUP) {
            assertFalse(ChainJudge.judge(source, dest).isExact(), "the old layer stays until the rename");
        }
        copy(layer, 0, CHUNK0); // delivered again meanwhile
        ChunkTasks.finalizeLayer(layer, 2);
        assertFinishedAndClean("job-replace");
    }

    @Test
    void finalizeAndCopyDeliveredAgainAfterTheLayerIsInPlaceChangeNothing() throws IOException {
        ChunkTasks.Layer layer = top("job-again");
        copy(layer, 0, CHUNK0);
        copy(layer, 1, CHUNK1);
        ChunkTasks.finalizeLayer(layer, 2);
        assertFinishedAndClean("job-again");
        byte[] before = Files.readAllBytes(layer.target());

        ChunkTasks.finalizeLayer(layer, 2); // FINALIZE redelivered
        assertEquals(0, copy(layer, 0, CHUNK0)); // COPY redelivered (e.g. the group rewound)
        assertEquals(0, copy(layer, 1, CHUNK1));
        ChunkTasks.finalizeLayer(layer, 2);

        assertFinishedAndClean("job-again");
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(layer.target())), "layer rewritten");
    }

    @Test
    void aLayerNameTakenByAnotherJobIsNeverOverwritten() throws IOException {
        ChunkTasks.Layer first = top("job-1");
        copy(first, 0, CHUNK0);
        copy(first, 1, CHUNK1);
        ChunkTasks.finalizeLayer(first, 2);
        byte[] before = Files.readAllBytes(first.target());

        ChunkTasks.Layer second = top("job-2");
        LayerExistsException e = assertThrows(LayerExistsException.class, () -> copy(second, 0, CHUNK0));
        assertTrue(e.getMessage().contains("top.qcow2: already exists"), e.getMessage());
        assertThrows(LayerExistsException.class, () -> ChunkTasks.finalizeLayer(second, 2));
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(first.target())));
        assertFinishedAndClean("job-1");
    }

    @Test
    void withoutTheMarkerARedeliveredFinalizeWouldCorruptTheLayer() throws IOException {
        // the fault this guards against: a finalize redelivered after the rename, rebuilt on an
        // empty .partial, reads the data cluster back as zeroes; prove the judge catches that
        ChunkTasks.Layer layer = top("job-naive");
        copy(layer, 0, CHUNK0);
        copy(layer, 1, CHUNK1);
        ChunkTasks.finalizeLayer(layer, 2);
        Files.delete(dest.resolve("top.qcow2.manifest.json"));
        Path chunks = Files.createDirectories(dest.resolve(".top.qcow2.partial.chunks"));
        ChunkTasks.writeRuns(chunks.resolve(ChunkTasks.chunkFileName(0)), CHUNK0);
        ChunkTasks.writeRuns(chunks.resolve(ChunkTasks.chunkFileName(1)), CHUNK1);
        Files.delete(layer.target());
        ChunkTasks.finalizeLayer(layer, 2); // a fresh, empty .partial: what main did before the marker
        Verdict verdict = ChainJudge.judge(source, dest);
        assertFalse(verdict.isExact(), "a layer rebuilt without its data must be judged wrong");
    }
}
