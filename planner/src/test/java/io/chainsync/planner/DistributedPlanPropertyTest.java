package io.chainsync.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkContexts;
import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ClusterRunRecord;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.TaskKind;
import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterRun;
import io.chainsync.core.LayerPlan;
import io.chainsync.core.NotReproducibleException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The distributed plan (chunk by chunk, layout from the chunks' stats) is the one-process plan:
 * for random layers, the chunk plans' runs put together are {@link LayerPlan#of}'s runs, with the
 * same cluster size and data indices; where {@code LayerPlan.of} refuses, the layout has an error.
 */
class DistributedPlanPropertyTest {

    @ParameterizedTest
    @ValueSource(longs = {2 * TestLayers.MIB, 4 * TestLayers.MIB, 6 * TestLayers.MIB})
    void chunkPlansEqualTheWholeLayerPlan(long chunkSize) {
        Random rnd = new Random(20240611L + chunkSize);
        int refused = 0;
        for (int rep = 0; rep < 100; rep++) {
            TestLayers.Layer layer = TestLayers.random(rnd, 16 * TestLayers.MIB);
            String what = "rep " + rep + " chunk size " + chunkSize + " " + layer.mode() + " size " + layer.size();
            LayerPlan expected;
            try {
                expected = LayerPlan.of(ChunkDecider.mode(layer.mode()), layer.size(), layer.base(), layer.second(),
                        layer.clusterSize() == null ? OptionalInt.empty()
                                : OptionalInt.of(Integer.numberOfTrailingZeros(layer.clusterSize())));
            } catch (NotReproducibleException e) {
                expected = null;
            }
            List<ChunkDecided> decided = decideChunks(layer, chunkSize, rnd);
            TestLayers.Chunks chunks = new TestLayers.Chunks();
            List<ChunkDecided> shuffled = new ArrayList<>(decided);
            Collections.shuffle(shuffled, rnd);
            for (ChunkDecided d : shuffled) {
                assertNull(d.getError(), what);
                chunks.add(ChunkDecider.stats(d));
            }
            LayerLayout layout = chunks.plan(TestLayers.scan(layer, 0, 1, chunkSize));
            assertTrue(layout.getComplete(), what);
            if (expected == null) {
                refused++;
                assertNotNull(layout.getError(), what + ": LayerPlan refused, the layout must fail");
                for (ChunkDecided d : decided) {
                    assertNull(ChunkPlanner.copyPlan(d, chunks.place(layout, d.getChunk())), what);
                }
                continue;
            }
            assertNull(layout.getError(), what);
            assertEquals(expected.clusterBits(), layout.getClusterBits(), what);
            assertEquals(expected.dataClusters(), layout.getDataClusters(), what);
            assertEquals(expected.dataBytes(), layout.getDataBytes(), what);
            List<ClusterRun> runs = new ArrayList<>();
            long dataBytes = 0;
            for (ChunkDecided d : decided) {
                ChunkPlan plan = ChunkPlanner.copyPlan(d, chunks.place(layout, d.getChunk()));
                assertNotNull(plan, what);
                assertEquals(TaskKind.COPY, plan.getKind());
                assertEquals(d.getChunk(), plan.getChunk());
                assertEquals(layout.getClusterBits(), plan.getClusterBits());
                dataBytes += plan.getDataBytes();
                for (ClusterRunRecord r : plan.getRuns()) {
                    append(runs, new ClusterRun(r.getFirstCluster(), r.getCount(),
                            ClusterKind.valueOf(r.getKind().name()), r.getFirstDataIndex()));
                }
            }
            assertEquals(expected.runs(), runs, what);
            assertEquals(expected.dataBytes(), dataBytes, what);
            ChunkPlan fin = ChunkPlanner.finalizePlan(layout);
            assertEquals(-1L, fin.getChunk());
            assertTrue(fin.getRuns().isEmpty());
        }
        assertTrue(refused > 0 && refused < 100, "the generator must give both exact and refused layers: " + refused);
    }

    /** Decides every chunk from its records, delivered in a random order with duplicates. */
    static List<ChunkDecided> decideChunks(TestLayers.Layer layer, long chunkSize, Random rnd) {
        List<ChunkExtents> records = new ArrayList<>(TestLayers.chunkRecords(layer, 0, chunkSize));
        records.addAll(records.subList(0, Math.min(3, records.size())));
        Collections.shuffle(records, rnd);
        Map<Long, ChunkContexts> aggregates = new LinkedHashMap<>();
        for (ChunkExtents r : records) {
            aggregates.put(r.getChunk(), ChunkDecider.add(
                    aggregates.getOrDefault(r.getChunk(), ChunkDecider.emptyContexts()), r));
        }
        List<ChunkDecided> out = new ArrayList<>();
        for (long c = 0; c < layer.chunkCount(chunkSize); c++) {
            ChunkContexts contexts = aggregates.get(c);
            assertTrue(ChunkDecider.complete(contexts));
            out.add(ChunkDecider.decide(contexts));
        }
        return out;
    }

    /** Appends a run, merging it into its predecessor when kind and clusters continue (as LayerPlan does). */
    private static void append(List<ClusterRun> runs, ClusterRun run) {
        if (!runs.isEmpty()) {
            ClusterRun last = runs.get(runs.size() - 1);
            if (last.kind() == run.kind() && last.endCluster() == run.firstCluster()) {
                if (run.kind() == ClusterKind.DATA) {
                    assertEquals(last.firstDataIndex() + last.count(), run.firstDataIndex(), "data indices continue");
                }
                runs.set(runs.size() - 1, new ClusterRun(last.firstCluster(), last.count() + run.count(), run.kind(),
                        last.firstDataIndex()));
                return;
            }
        }
        runs.add(run);
    }
}
