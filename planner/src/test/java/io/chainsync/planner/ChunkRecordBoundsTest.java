package io.chainsync.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkContexts;
import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.DecisionMode;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerScanned;
import io.chainsync.core.MetaContexts;
import io.chainsync.kafka.PlainAvroSerdes;
import io.chainsync.kafka.TopicSetup;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * Every record of one chunk fits the topics' maximum message size whatever the layer holds: the
 * scanner cuts chunks at {@link TopicSetup#MAX_CHUNK_EXTENTS} extents per context, and the worst
 * chunk is encoded here, through the real decision and planning code, at 512-byte clusters, far
 * into a huge disk (so every offset, cluster number and data index takes its longest varint), with
 * 4 KiB names, URIs and paths.
 */
class ChunkRecordBoundsTest {

    private static final int MAX = TopicSetup.MAX_CHUNK_EXTENTS;
    private static final String LONG = "x".repeat(4096);

    /** The bytes the internal topics and stores carry: single-object encoding, its header included. */
    private static int encoded(SpecificRecord record) {
        @SuppressWarnings("unchecked")
        Class<SpecificRecord> type = (Class<SpecificRecord>) record.getClass();
        return new PlainAvroSerdes().serde(type, false).serializer().serialize("t", record).length;
    }

    /**
     * Both contexts at their extent limit, with boundaries interleaved on 512-byte units so that
     * none coincide: base:allocation alternates 1 KiB of data and 1 KiB of zeroes, the depth 1 KiB
     * local and 1 KiB absent half a KiB later — as many decisions and runs as two contexts can give.
     */
    @Test
    void theWorstChunkFitsEveryTopicAndStore() {
        long start = 1L << 60; // a 2 MiB multiple near the top of the offset range
        long unit = 512;
        long end = start + (2L * MAX - 1) * unit;
        List<Long> baseLengths = new ArrayList<>();
        List<Integer> baseFlags = new ArrayList<>();
        for (long at = start; at < end; at += 2 * unit) {
            baseLengths.add(Math.min(2 * unit, end - at));
            baseFlags.add(baseFlags.size() % 2 == 0 ? 0 : MetaContexts.STATE_HOLE | MetaContexts.STATE_ZERO);
        }
        List<Long> depthLengths = new ArrayList<>();
        List<Integer> depthFlags = new ArrayList<>();
        depthLengths.add(unit);
        depthFlags.add(MetaContexts.DEPTH_LOCAL);
        for (long at = start + unit; at < end; at += 2 * unit) {
            depthLengths.add(Math.min(2 * unit, end - at));
            depthFlags.add(depthFlags.size() % 2 == 0 ? MetaContexts.DEPTH_LOCAL : MetaContexts.DEPTH_ABSENT);
        }
        assertEquals(MAX, baseLengths.size());
        assertEquals(MAX, depthLengths.size());
        List<String> contexts = List.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
        ChunkExtents base = new ChunkExtents(LONG, Integer.MAX_VALUE, 1L << 50, MetaContexts.BASE_ALLOCATION,
                DecisionMode.ALLOCATION_DEPTH, contexts, start, end, baseLengths, baseFlags, Integer.MAX_VALUE);
        ChunkExtents depth = new ChunkExtents(LONG, Integer.MAX_VALUE, 1L << 50, MetaContexts.ALLOCATION_DEPTH,
                DecisionMode.ALLOCATION_DEPTH, contexts, start, end, depthLengths, depthFlags, Integer.MAX_VALUE);
        ChunkContexts both = ChunkDecider.add(ChunkDecider.add(ChunkDecider.emptyContexts(), base), depth);
        ChunkDecided decided = ChunkDecider.decide(both);
        assertNull(decided.getError());
        assertTrue(decided.getOffsets().size() >= 3 * MAX / 2 - 1, decided.getOffsets().size() + " decisions");

        LayerScanned scan = LayerScanned.newBuilder().setJob(LONG).setLayer(Integer.MAX_VALUE).setLayerCount(1)
                .setName(LONG).setUri(LONG).setDest(LONG).setSize(Long.MAX_VALUE).setChunkSize(64L << 20)
                .setChunkCount(Long.MAX_VALUE).setOffered(contexts).setMode(DecisionMode.ALLOCATION_DEPTH)
                .setExtentCount(Long.MAX_VALUE).setBackingName(LONG).setBackingFormat("qcow2").setClusterSize(512)
                .setError(null).setAttempt(Integer.MAX_VALUE).build();
        LayerLayout layout = LayerLayout.newBuilder().setScan(scan).setClusterBits(9).setFirstDataIndex(List.of())
                .setDataClusters(Long.MAX_VALUE).setDataBytes(Long.MAX_VALUE).setError(null).setComplete(true).build();
        ChunkPlan plan = ChunkPlanner.copyPlan(decided,
                LayoutPlanner.chunkLayout(layout, decided.getChunk(), 1L << 55));
        assertNotNull(plan);
        assertTrue(plan.getRuns().size() >= 3 * MAX / 2 - 1, plan.getRuns().size() + " runs");

        int limit = TopicSetup.MAX_MESSAGE_BYTES;
        for (SpecificRecord r : List.of(base, depth, both, decided, ChunkDecider.stats(decided), plan,
                LayoutPlanner.chunkLayout(layout, Long.MAX_VALUE, Long.MAX_VALUE), layout)) {
            int size = encoded(r);
            assertTrue(size < limit, r.getClass().getSimpleName() + " is " + size + " bytes");
        }
        // the analytic bound, each field at its longest varint: runs ≤ 2 per decision boundary + 1,
        // decisions ≤ extents of both contexts; a run is 3 longs and an enum
        long decisions = 2L * MAX;
        long runs = 2 * decisions + 1;
        long strings = 6L * (LONG.length() + 3);
        assertTrue(runs * (3 * 10 + 1) + strings + 1024 < limit, "the COPY plan bound");
        assertTrue(2 * (MAX * (10L + 5)) + strings + 1024 < limit, "the chunk contexts bound");
        assertTrue(decisions * (10 + 1) + strings + 1024 < limit, "the decided chunk bound");
        assertEquals(MAX, 1 << 16, "the bounds above were checked for this limit");
    }
}
