package io.chainsync.planner;

import static io.chainsync.planner.TestLayers.KIB;
import static io.chainsync.planner.TestLayers.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkStats;
import io.chainsync.avro.DecisionMode;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerScanned;
import io.chainsync.core.Extent;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LayoutPlannerTest {

    /** Three 2 MiB chunks: data at [0, 64K) of chunk 0, [0, 128K) of chunk 1, none in chunk 2. */
    private static TestLayers.Layer threeChunks(Integer forced, long depthBoundary) {
        long size = 6 * MIB - 17 * KIB;
        List<Extent> base = List.of(new Extent(0, size, 0));
        List<Extent> depth = List.of(
                new Extent(0, 64 * KIB, 1), new Extent(64 * KIB, 2 * MIB - 64 * KIB, 0),
                new Extent(2 * MIB, depthBoundary, 1), new Extent(2 * MIB + depthBoundary, size - 2 * MIB - depthBoundary, 0));
        return new TestLayers.Layer(size, DecisionMode.ALLOCATION_DEPTH, base, depth, forced);
    }

    private static TestLayers.Chunks chunks(TestLayers.Layer layer, long... order) {
        List<ChunkDecided> decided = DistributedPlanPropertyTest.decideChunks(layer, 2 * MIB, new Random(1));
        TestLayers.Chunks agg = new TestLayers.Chunks();
        for (long c : order) {
            agg.add(ChunkDecider.stats(decided.get((int) c)));
        }
        return agg;
    }

    @Test
    void layoutWaitsForEveryChunkThenNumbersDataClustersInChunkOrder() {
        TestLayers.Layer layer = threeChunks(null, 128 * KIB);
        LayerScanned scan = TestLayers.scan(layer, 0, 1, 2 * MIB);
        assertFalse(LayoutPlanner.plan(scan, 0, null, () -> {
            throw new AssertionError("no pass over the chunks before all are in");
        }).getComplete());
        assertFalse(chunks(layer, 2, 0).plan(scan).getComplete());
        TestLayers.Chunks all = chunks(layer, 2, 0, 1, 0);
        LayerLayout layout = all.plan(scan);
        assertTrue(layout.getComplete());
        assertNull(layout.getError());
        assertEquals(16, layout.getClusterBits());
        assertEquals(List.of(0L, 1L, 3L), all.firstDataIndexes(layout));
        assertEquals(List.of(), layout.getFirstDataIndex(), "the layer's record does not grow with its chunks");
        assertEquals(3, layout.getDataClusters());
        assertEquals(192 * KIB, layout.getDataBytes());
    }

    @Test
    void smallerBoundaryGivesSmallerClusters() {
        TestLayers.Layer layer = threeChunks(null, 4 * KIB);
        TestLayers.Chunks all = chunks(layer, 0, 1, 2);
        LayerLayout layout = all.plan(TestLayers.scan(layer, 0, 1, 2 * MIB));
        assertEquals(12, layout.getClusterBits());
        assertEquals(List.of(0L, 16L, 17L), all.firstDataIndexes(layout));
    }

    @Test
    void chunksOfAnySizeOnTheTwoMebibyteGridGiveTheSameLayout() {
        // the scanner cuts chunks by their data, not on a fixed grid: [0, 4M) + [4M, end) here
        TestLayers.Layer layer = threeChunks(null, 128 * KIB);
        List<ChunkDecided> two = DistributedPlanPropertyTest.decideChunks(layer, 4 * MIB, new Random(2));
        TestLayers.Chunks chunks = new TestLayers.Chunks().addAll(two);
        LayerLayout layout = chunks.plan(TestLayers.scan(layer, 0, 1, 4 * MIB));
        assertNull(layout.getError());
        assertEquals(16, layout.getClusterBits());
        assertEquals(List.of(0L, 3L), chunks.firstDataIndexes(layout));
        assertEquals(3, layout.getDataClusters());
    }

    @Test
    void forcedClusterSizeThatCannotBeExactIsAnError() {
        TestLayers.Layer layer = threeChunks(128 * (int) KIB, 128 * KIB);
        LayerLayout layout = chunks(layer, 0, 1, 2).plan(TestLayers.scan(layer, 0, 1, 2 * MIB));
        assertTrue(layout.getComplete());
        assertNotNull(layout.getError());
        assertTrue(layout.getError().contains("layer 0 (layer0.qcow2) of job job-1"), layout.getError());
        assertTrue(layout.getError().contains("cluster size 131072 cannot be exact"), layout.getError());
        TestLayers.Layer fine = threeChunks(4 * (int) KIB, 128 * KIB);
        LayerLayout ok = chunks(fine, 0, 1, 2).plan(TestLayers.scan(fine, 0, 1, 2 * MIB));
        assertNull(ok.getError());
        assertEquals(12, ok.getClusterBits());
    }

    @Test
    void scanErrorChunkErrorAndOffGridChunkAreErrors() {
        TestLayers.Layer layer = threeChunks(null, 128 * KIB);
        LayerScanned failed = LayerScanned.newBuilder(TestLayers.scan(layer, 0, 1, 2 * MIB))
                .setError("no qemu:allocation-depth").build();
        LayerLayout l1 = new TestLayers.Chunks().plan(failed);
        assertTrue(l1.getComplete());
        assertTrue(l1.getError().contains("scan failed: no qemu:allocation-depth"), l1.getError());

        TestLayers.Chunks withError = chunks(layer, 0, 1).add(
                ChunkStats.newBuilder(ChunkDecider.stats(DistributedPlanPropertyTest.decideChunks(layer, 2 * MIB,
                        new Random(1)).get(2))).setError("chunk 2: bad").build());
        LayerLayout l2 = withError.plan(TestLayers.scan(layer, 0, 1, 2 * MIB));
        assertTrue(l2.getComplete());
        assertTrue(l2.getError().contains("chunk 2: bad"), l2.getError());

        // two chunks claimed, but they cover [0, 4M) of a 6M layer
        LayerLayout l3 = chunks(layer, 0, 1).plan(TestLayers.scan(layer, 0, 1, 4 * MIB));
        assertTrue(l3.getComplete());
        assertTrue(l3.getError().contains("instead of 2 chunks covering [0, " + layer.size() + ")"), l3.getError());

        // a gap: chunks 0 and 2 of three, and a third stats record under index 1 that starts at 4M
        List<ChunkDecided> decided = DistributedPlanPropertyTest.decideChunks(layer, 2 * MIB, new Random(1));
        TestLayers.Chunks gap = chunks(layer, 0, 2).add(ChunkStats.newBuilder(ChunkDecider.stats(decided.get(2)))
                .setChunk(1).build());
        LayerLayout l4 = gap.plan(TestLayers.scan(layer, 0, 1, 2 * MIB));
        assertTrue(l4.getError().contains("chunk 1 covers [" + 4 * MIB), l4.getError());

        // more chunks than the summary counts
        LayerLayout l5 = chunks(layer, 0, 1, 2).plan(TestLayers.scan(layer, 0, 1, 4 * MIB));
        assertTrue(l5.getError().contains("chunk 2 is outside the layer's 2 chunks"), l5.getError());
    }

    @Test
    void emptyLayerIsCompleteAtOnce() {
        TestLayers.Layer empty = new TestLayers.Layer(0, DecisionMode.ALLOCATION_DEPTH, List.of(), List.of(), null);
        LayerLayout layout = new TestLayers.Chunks().plan(TestLayers.scan(empty, 0, 1, 2 * MIB));
        assertTrue(layout.getComplete());
        assertNull(layout.getError());
        assertNotNull(ChunkPlanner.finalizeIfReady(layout, null));
    }
}
