package io.chainsync.planner;

import io.chainsync.core.ClusterSizes;

import static io.chainsync.planner.TestLayers.KIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkContexts;
import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.DecisionMode;
import io.chainsync.core.Action;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.Decision;
import io.chainsync.core.LayerDecisions;
import io.chainsync.core.MetaContexts;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkDeciderTest {

    private static ChunkContexts contexts(ChunkExtents... parts) {
        ChunkContexts agg = ChunkDecider.emptyContexts();
        for (ChunkExtents p : parts) {
            agg = ChunkDecider.add(agg, p);
        }
        return agg;
    }

    private static List<ChunkExtents> seedRecords() {
        return TestLayers.chunkRecords(TestLayers.seed(), 0, 2 * TestLayers.MIB);
    }

    @Test
    void seedChunkIsDecidedAsInDesign() {
        List<ChunkExtents> records = seedRecords();
        ChunkDecided d = ChunkDecider.decide(contexts(records.get(1), records.get(0)));
        assertNull(d.getError());
        assertEquals(List.of(
                new Decision(0, 64 * KIB, Action.SKIP),
                new Decision(64 * KIB, 64 * KIB, Action.DATA),
                new Decision(128 * KIB, 64 * KIB, Action.ZERO),
                new Decision(192 * KIB, 64 * KIB, Action.SKIP)), ChunkDecider.decisions(d));
        assertEquals(16, d.getAlignmentBits());
        assertEquals(64 * KIB, d.getAlignmentOffset());
        List<Long> clusters = d.getDataClustersByBits();
        assertEquals(ClusterSizes.COUNT, clusters.size());
        assertEquals(128L, clusters.get(9 - 9), "64 KiB of data at 512 B clusters");
        assertEquals(1L, clusters.get(16 - 9));
        assertEquals(-1L, clusters.get(17 - 9), "128 KiB clusters cannot be exact");
        assertEquals(64 * KIB, d.getDataBytesByBits().get(16 - 9));
        assertEquals(64 * KIB, d.getDataBytes());
    }

    @Test
    void contextsInEitherOrderAndDuplicatesGiveTheSameDecision() {
        List<ChunkExtents> r = seedRecords();
        ChunkContexts a = contexts(r.get(0), r.get(1));
        ChunkContexts b = contexts(r.get(1), r.get(0), r.get(1));
        assertEquals(a.getParts(), b.getParts());
        assertFalse(b.getChanged(), "a redelivered record changes nothing");
        assertTrue(a.getChanged());
        assertEquals(ChunkDecider.decide(a), ChunkDecider.decide(b));
    }

    @Test
    void chunkIsCompleteOnlyWithEveryRequiredContext() {
        List<ChunkExtents> r = seedRecords();
        assertFalse(ChunkDecider.complete(contexts(r.get(0))));
        assertFalse(ChunkDecider.complete(contexts(r.get(1))));
        assertTrue(ChunkDecider.complete(contexts(r.get(0), r.get(1))));
        ChunkExtents bottom = ChunkExtents.newBuilder(r.get(0)).setMode(DecisionMode.BOTTOM_WITHOUT_DEPTH)
                .setContexts(List.of(MetaContexts.BASE_ALLOCATION)).build();
        assertTrue(ChunkDecider.complete(contexts(bottom)));
        assertNull(ChunkDecider.decide(contexts(bottom)).getError());
    }

    @Test
    void latestRecordOfAContextWins() {
        List<ChunkExtents> r = seedRecords();
        ChunkExtents allData = ChunkExtents.newBuilder(r.get(0)).setLengths(List.of(256 * KIB))
                .setFlags(List.of(0)).build();
        ChunkContexts agg = contexts(r.get(0), r.get(1), allData);
        assertTrue(agg.getChanged());
        assertEquals(2, agg.getParts().size());
        assertEquals(Action.SKIP, ChunkDecider.decisions(ChunkDecider.decide(agg)).get(0).action());
        assertEquals(Action.DATA, ChunkDecider.decisions(ChunkDecider.decide(agg)).get(1).action());
    }

    @Test
    void malformedChunksGiveAnErrorNotAnException() {
        List<ChunkExtents> r = seedRecords();
        ChunkExtents base = r.get(0);
        ChunkExtents depth = r.get(1);
        assertError(contexts(ChunkExtents.newBuilder(base).setLengths(List.of(64 * KIB, 64 * KIB, 64 * KIB))
                .setFlags(List.of(3, 0, 3)).build(), depth), "covers [0, 196608) instead of [0, 262144)");
        assertError(contexts(ChunkExtents.newBuilder(base).setFlags(List.of(3, 0)).build(), depth), "flags");
        assertError(contexts(ChunkExtents.newBuilder(base).setLengths(List.of(64 * KIB, 0L, 192 * KIB)).build(),
                depth), "length 0");
        assertError(contexts(base, ChunkExtents.newBuilder(depth).setEnd(128 * KIB)
                .setLengths(List.of(64 * KIB, 64 * KIB)).setFlags(List.of(0, 1)).build()), "covers");
        assertError(contexts(base, ChunkExtents.newBuilder(depth).setMode(DecisionMode.DIRTY_BITMAP).build()), "mode");
        ChunkExtents alone = ChunkExtents.newBuilder(base).setContexts(List.of(MetaContexts.BASE_ALLOCATION)).build();
        assertError(contexts(alone), "second context");
        ChunkExtents noBase = ChunkExtents.newBuilder(depth).setContexts(List.of(MetaContexts.ALLOCATION_DEPTH)).build();
        assertError(contexts(noBase), MetaContexts.BASE_ALLOCATION);
    }

    private static void assertError(ChunkContexts contexts, String expected) {
        ChunkDecided d = ChunkDecider.decide(contexts);
        assertNotNull(d.getError(), "expected an error containing " + expected);
        assertTrue(d.getError().contains(expected), d.getError());
        assertTrue(d.getError().contains("chunk 0 of layer 0 of job " + TestLayers.JOB), d.getError());
    }

    /** The one-pass count equals counting the DATA clusters of {@link ClusterMap#runs}, at every exact size. */
    @Test
    void dataClusterCountsEqualClusterMapRuns() {
        Random rnd = new Random(7);
        for (int rep = 0; rep < 100; rep++) {
            TestLayers.Layer layer = TestLayers.random(rnd, 4 * TestLayers.MIB);
            List<Decision> decisions = LayerDecisions.decide(ChunkDecider.mode(layer.mode()), 0, layer.size(),
                    layer.base(), layer.second());
            ClusterMap.Alignment alignment = ClusterMap.alignment(decisions);
            long[] clusters = new long[ClusterSizes.COUNT];
            long[] bytes = new long[ClusterSizes.COUNT];
            ClusterMap.dataClustersByBits(decisions, alignment.bits(), clusters, bytes);
            for (int b = ClusterSizes.MIN_BITS; b <= ClusterSizes.MAX_BITS; b++) {
                int i = b - ClusterSizes.MIN_BITS;
                if (b > alignment.bits()) {
                    assertEquals(-1, clusters[i]);
                    continue;
                }
                var runs = ClusterMap.runs(decisions, b, 0);
                assertEquals(ClusterMap.dataClusters(runs), clusters[i], "rep " + rep + " bits " + b);
                long expectedBytes = 0;
                for (var run : runs) {
                    if (run.kind() == io.chainsync.core.ClusterKind.DATA) {
                        expectedBytes += Math.min(run.endCluster() << b, layer.size()) - (run.firstCluster() << b);
                    }
                }
                assertEquals(expectedBytes, bytes[i], "rep " + rep + " bits " + b);
            }
        }
    }
}
