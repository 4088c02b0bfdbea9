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
import io.chainsync.avro.LayerChunks;
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

    private static LayerChunks chunks(TestLayers.Layer layer, long... order) {
        List<ChunkDecided> decided = DistributedPlanPropertyTest.decideChunks(layer, 2 * MIB, new Random(1));
        LayerChunks agg = LayoutPlanner.emptyChunks();
        for (long c : order) {
            agg = LayoutPlanner.add(agg, TestLayers.JOB, 0, ChunkDecider.stats(decided.get((int) c)));
        }
        return agg;
    }

    @Test
    void layoutWaitsForEveryChunkThenNumbersDataClustersInChunkOrder() {
        TestLayers.Layer layer = threeChunks(null, 128 * KIB);
        LayerScanned scan = TestLayers.scan(layer, 0, 1, 2 * MIB);
        assertFalse(LayoutPlanner.plan(scan, null).getComplete());
        assertFalse(LayoutPlanner.plan(scan, chunks(layer, 2, 0)).getComplete());
        LayerLayout layout = LayoutPlanner.plan(scan, chunks(layer, 2, 0, 1, 0));
        assertTrue(layout.getComplete());
        assertNull(layout.getError());
        assertEquals(16, layout.getClusterBits());
        assertEquals(List.of(0L, 1L, 3L), layout.getFirstDataIndex());
        assertEquals(3, layout.getDataClusters());
        assertEquals(192 * KIB, layout.getDataBytes());
    }

    @Test
    void smallerBoundaryGivesSmallerClusters() {
        TestLayers.Layer layer = threeChunks(null, 4 * KIB);
        LayerLayout layout = LayoutPlanner.plan(TestLayers.scan(layer, 0, 1, 2 * MIB), chunks(layer, 0, 1, 2));
        assertEquals(12, layout.getClusterBits());
        assertEquals(List.of(0L, 16L, 17L), layout.getFirstDataIndex());
    }

    @Test
    void forcedClusterSizeThatCannotBeExactIsAnError() {
        TestLayers.Layer layer = threeChunks(128 * (int) KIB, 128 * KIB);
        LayerLayout layout = LayoutPlanner.plan(TestLayers.scan(layer, 0, 1, 2 * MIB), chunks(layer, 0, 1, 2));
        assertTrue(layout.getComplete());
        assertNotNull(layout.getError());
        assertTrue(layout.getError().contains("layer 0 (layer0.qcow2) of job job-1"), layout.getError());
        assertTrue(layout.getError().contains("cluster size 131072 cannot be exact"), layout.getError());
        TestLayers.Layer fine = threeChunks(4 * (int) KIB, 128 * KIB);
        LayerLayout ok = LayoutPlanner.plan(TestLayers.scan(fine, 0, 1, 2 * MIB), chunks(fine, 0, 1, 2));
        assertNull(ok.getError());
        assertEquals(12, ok.getClusterBits());
    }

    @Test
    void scanErrorChunkErrorAndOffGridChunkAreErrors() {
        TestLayers.Layer layer = threeChunks(null, 128 * KIB);
        LayerScanned failed = LayerScanned.newBuilder(TestLayers.scan(layer, 0, 1, 2 * MIB))
                .setError("no qemu:allocation-depth").build();
        LayerLayout l1 = LayoutPlanner.plan(failed, null);
        assertTrue(l1.getComplete());
        assertTrue(l1.getError().contains("scan failed: no qemu:allocation-depth"), l1.getError());

        LayerChunks withError = LayoutPlanner.add(chunks(layer, 0, 1), TestLayers.JOB, 0,
                ChunkStats.newBuilder(ChunkDecider.stats(DistributedPlanPropertyTest.decideChunks(layer, 2 * MIB,
                        new Random(1)).get(2))).setError("chunk 2: bad").build());
        LayerLayout l2 = LayoutPlanner.plan(TestLayers.scan(layer, 0, 1, 2 * MIB), withError);
        assertTrue(l2.getComplete());
        assertTrue(l2.getError().contains("chunk 2: bad"), l2.getError());

        LayerLayout l3 = LayoutPlanner.plan(TestLayers.scan(layer, 0, 1, 4 * MIB), chunks(layer, 0));
        assertTrue(l3.getComplete());
        assertTrue(l3.getError().contains("instead of"), l3.getError());
    }

    @Test
    void emptyLayerIsCompleteAtOnce() {
        TestLayers.Layer empty = new TestLayers.Layer(0, DecisionMode.ALLOCATION_DEPTH, List.of(), List.of(), null);
        LayerLayout layout = LayoutPlanner.plan(TestLayers.scan(empty, 0, 1, 2 * MIB), null);
        assertTrue(layout.getComplete());
        assertNull(layout.getError());
        assertNotNull(ChunkPlanner.finalizeIfReady(layout, null));
    }
}
