package io.chainsync.planner;

import io.chainsync.kafka.PlainAvroSerdes;

import static io.chainsync.planner.TestLayers.JOB;
import static io.chainsync.planner.TestLayers.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.ClusterKind;
import io.chainsync.avro.ClusterRunRecord;
import io.chainsync.avro.JobCommand;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.ResultState;
import io.chainsync.avro.SyncJob;
import io.chainsync.avro.TaskKind;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PlannerTopologyTest {

    @TempDir
    Path stateDir;

    private PlannerDriver planner;

    @BeforeEach
    void start() {
        planner = new PlannerDriver(stateDir);
    }

    @AfterEach
    void stop() {
        planner.close();
    }

    private void submit(int layers) {
        List<LayerSource> sources = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            sources.add(new LayerSource("layer" + i + ".qcow2", "nbd+unix:///?socket=/s" + i));
        }
        planner.jobs.pipeInput(new JobKey(JOB), new SyncJob(JOB, sources, "out", null, null, 2 * MIB,
                Instant.ofEpochMilli(1_000_000), null, false, 0, JobCommand.RUN, false, false));
    }

    private void pipe(ChunkExtents e) {
        planner.extents.pipeInput(new ChunkKey(e.getJob(), e.getLayer(), e.getChunk()), e);
    }

    private void pipe(LayerScanned s) {
        planner.scans.pipeInput(new LayerKey(s.getJob(), s.getLayer()), s);
    }

    private void done(int layer, long chunk, TaskKind kind, long bytes) {
        planner.results.pipeInput(new ChunkKey(JOB, layer, chunk),
                new ChunkResult(JOB, layer, chunk, kind, ResultState.DONE, bytes, "w1", null, 0, false, -1L));
    }

    private JobStatus lastStatus() {
        Map<JobKey, JobStatus> latest = planner.status.readKeyValuesToMap();
        return latest.get(new JobKey(JOB));
    }

    @Test
    void seedLayerGivesOneCopyPlanThenOneFinalizeThenComplete() {
        TestLayers.Layer seed = TestLayers.seed();
        submit(1);
        List<ChunkExtents> records = TestLayers.chunkRecords(seed, 0, 2 * MIB);
        pipe(records.get(1));
        pipe(records.get(0));
        assertTrue(planner.plans.isEmpty(), "no plan before the scan summary");
        pipe(TestLayers.scan(seed, 0, 1, 2 * MIB));

        List<KeyValue<ChunkKey, ChunkPlan>> out = planner.plans.readKeyValuesToList();
        assertEquals(1, out.size(), out.toString());
        ChunkPlan plan = out.get(0).value;
        assertEquals(new ChunkKey(JOB, 0, 0L), out.get(0).key);
        assertEquals(TaskKind.COPY, plan.getKind());
        assertEquals(16, plan.getClusterBits());
        assertEquals(256 * TestLayers.KIB, plan.getVirtualSize());
        assertEquals(64 * TestLayers.KIB, plan.getDataBytes());
        assertEquals(List.of(
                new ClusterRunRecord(0L, 1L, ClusterKind.UNALLOCATED, -1L),
                new ClusterRunRecord(1L, 1L, ClusterKind.DATA, 0L),
                new ClusterRunRecord(2L, 1L, ClusterKind.ZERO, -1L),
                new ClusterRunRecord(3L, 1L, ClusterKind.UNALLOCATED, -1L)), plan.getRuns());
        assertEquals(JobState.COPYING, lastStatus().getState());

        done(0, 0, TaskKind.COPY, 65536);
        done(0, 0, TaskKind.COPY, 65536);
        List<KeyValue<ChunkKey, ChunkPlan>> fin = planner.plans.readKeyValuesToList();
        assertEquals(1, fin.size(), "exactly one FINALIZE plan, whatever the duplicates: " + fin);
        assertEquals(new ChunkKey(JOB, 0, -1L), fin.get(0).key);
        assertEquals(TaskKind.FINALIZE, fin.get(0).value.getKind());
        assertTrue(fin.get(0).value.getRuns().isEmpty());
        JobStatus copying = lastStatus();
        assertEquals(JobState.COPYING, copying.getState());
        assertEquals(65536L, copying.getLayers().get(0).getBytesDone(), "a duplicate result counts once");
        assertEquals(1L, copying.getLayers().get(0).getChunksDone());

        done(0, -1, TaskKind.FINALIZE, 0);
        JobStatus complete = lastStatus();
        assertEquals(JobState.COMPLETE, complete.getState());
        assertEquals(JobState.COMPLETE, complete.getLayers().get(0).getState());
        assertNull(complete.getError());
        assertTrue(planner.plans.isEmpty());
    }

    /** Multi-chunk layers, contexts in random order with duplicates, the scan summary first or last. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void multiChunkLayerGetsTheSamePlansAsThePureFunctions(boolean scanFirst) {
        Random rnd = new Random(scanFirst ? 11 : 12);
        long chunkSize = 2 * MIB;
        submit(2);
        Map<ChunkKey, ChunkPlan> expected = new java.util.HashMap<>();
        List<ChunkExtents> all = new ArrayList<>();
        List<LayerScanned> summaries = new ArrayList<>();
        for (int layerIndex = 0; layerIndex < 2; layerIndex++) {
            TestLayers.Layer layer;
            LayerLayout layout;
            do {
                TestLayers.Layer random = TestLayers.random(rnd, 9 * MIB);
                layer = new TestLayers.Layer(random.size(), random.mode(), random.base(), random.second(), null);
                layout = pureLayout(layer, layerIndex, chunkSize);
            } while (layout.getError() != null || layer.chunkCount(chunkSize) < 3);
            TestLayers.Chunks chunks = chunks(layer, chunkSize);
            for (ChunkDecided d : DistributedPlanPropertyTest.decideChunks(layer, chunkSize, rnd)) {
                ChunkDecided relayered = ChunkDecided.newBuilder(d).setLayer(layerIndex).build();
                expected.put(new ChunkKey(JOB, layerIndex, d.getChunk()),
                        ChunkPlanner.copyPlan(relayered, chunks.place(layout, d.getChunk())));
            }
            all.addAll(TestLayers.chunkRecords(layer, layerIndex, chunkSize));
            summaries.add(TestLayers.scan(layer, layerIndex, 2, chunkSize));
        }
        all.addAll(all.subList(0, 4)); // redelivered
        Collections.shuffle(all, rnd);
        if (scanFirst) {
            summaries.forEach(this::pipe);
        }
        all.forEach(this::pipe);
        if (!scanFirst) {
            summaries.forEach(this::pipe);
        }
        pipe(summaries.get(0)); // a redelivered summary must not re-send plans

        List<KeyValue<ChunkKey, ChunkPlan>> out = planner.plans.readKeyValuesToList();
        assertEquals(expected.size(), out.size(), "one plan per chunk, no duplicates");
        for (KeyValue<ChunkKey, ChunkPlan> kv : out) {
            assertEquals(expected.get(kv.key), kv.value, "plan of " + kv.key);
        }
        // layer 1's chunks report back (with a duplicate); layer 0 not yet: one FINALIZE, for layer 1
        long chunks1 = summaries.get(1).getChunkCount();
        for (long c = chunks1 - 1; c >= 0; c--) {
            done(1, c, TaskKind.COPY, expected.get(new ChunkKey(JOB, 1, c)).getDataBytes());
        }
        done(1, 0, TaskKind.COPY, 1);
        List<KeyValue<ChunkKey, ChunkPlan>> fin = planner.plans.readKeyValuesToList();
        assertEquals(1, fin.size(), fin.toString());
        assertEquals(new ChunkKey(JOB, 1, -1L), fin.get(0).key);
        assertEquals(summaries.get(1).getBackingName(), fin.get(0).value.getBackingName());
        done(1, -1, TaskKind.FINALIZE, 0);
        JobStatus s = lastStatus();
        assertEquals(JobState.COPYING, s.getState(), "the least advanced layer");
        assertEquals(JobState.COMPLETE, s.getLayers().get(1).getState());
        assertEquals(s.getLayers().get(1).getBytesTotal(), s.getLayers().get(1).getBytesDone());
        assertEquals(JobState.COPYING, s.getLayers().get(0).getState());
    }

    private static TestLayers.Chunks chunks(TestLayers.Layer layer, long chunkSize) {
        return new TestLayers.Chunks().addAll(DistributedPlanPropertyTest.decideChunks(layer, chunkSize, new Random(0)));
    }

    private static LayerLayout pureLayout(TestLayers.Layer layer, int layerIndex, long chunkSize) {
        return chunks(layer, chunkSize).plan(TestLayers.scan(layer, layerIndex, 2, chunkSize));
    }

    @Test
    void scanErrorFailsTheLayerAndTheJob() {
        submit(2);
        JobStatus submitted = lastStatus();
        assertEquals(JobState.SUBMITTED, submitted.getState());
        assertEquals("layer1.qcow2", submitted.getLayers().get(1).getName());
        LayerScanned failed = LayerScanned.newBuilder(TestLayers.scan(TestLayers.seed(), 1, 2, 2 * MIB))
                .setChunkCount(0).setError("the server does not offer qemu:allocation-depth").build();
        pipe(failed);
        JobStatus s = lastStatus();
        assertEquals(JobState.FAILED, s.getState());
        assertEquals(JobState.FAILED, s.getLayers().get(1).getState());
        assertTrue(s.getError().contains("the server does not offer qemu:allocation-depth"), s.getError());
        assertEquals(JobState.SUBMITTED, s.getLayers().get(0).getState());
        assertTrue(planner.plans.isEmpty());
    }

    @Test
    void copyFailureFailsTheJobAndNoFinalizeFollows() {
        TestLayers.Layer seed = TestLayers.seed();
        submit(1);
        TestLayers.chunkRecords(seed, 0, 2 * MIB).forEach(this::pipe);
        pipe(TestLayers.scan(seed, 0, 1, 2 * MIB));
        assertEquals(1, planner.plans.readKeyValuesToList().size());
        planner.results.pipeInput(new ChunkKey(JOB, 0, 0L),
                new ChunkResult(JOB, 0, 0L, TaskKind.COPY, ResultState.FAILED, 0L, "w2", "disk full", 0, false, -1L));
        done(0, 0, TaskKind.COPY, 65536);
        assertTrue(planner.plans.isEmpty(), "no FINALIZE after a failure");
        JobStatus s = lastStatus();
        assertEquals(JobState.FAILED, s.getState());
        assertTrue(s.getError().contains("disk full"), s.getError());
    }

    @Test
    void malformedChunkFailsTheLayerWithoutKillingTheStream() {
        TestLayers.Layer seed = TestLayers.seed();
        submit(1);
        List<ChunkExtents> records = TestLayers.chunkRecords(seed, 0, 2 * MIB);
        pipe(ChunkExtents.newBuilder(records.get(0)).setLengths(List.of(1L)).setFlags(List.of(0)).build());
        pipe(records.get(1));
        pipe(TestLayers.scan(seed, 0, 1, 2 * MIB));
        assertTrue(planner.plans.isEmpty());
        JobStatus s = lastStatus();
        assertEquals(JobState.FAILED, s.getState());
        assertTrue(s.getError().contains("base:allocation covers [0, 1) instead of [0, 262144)"), s.getError());
    }

    @Test
    void everyStoreAndRepartitionTopicIsNamed() {
        String description = PlannerTopology.build(PlannerDriver.TOPICS, new PlainAvroSerdes()).describe().toString();
        Matcher generated = Pattern.compile("(KSTREAM|KTABLE)-[A-Z]+(-[A-Z]+)*-\\d{10}").matcher(description);
        List<String> found = new ArrayList<>();
        while (generated.find()) {
            found.add(generated.group());
        }
        assertEquals(List.of(), found, description);
        for (String store : List.of(PlannerTopology.CHUNK_CONTEXTS, PlannerTopology.CHUNK_DECIDED,
                PlannerTopology.CHUNK_STATS, PlannerTopology.LAYER_TALLIES, PlannerTopology.LAYOUT_PROGRESS,
                PlannerTopology.CHUNK_LAYOUTS, PlannerTopology.LAYER_LAYOUTS,
                PlannerTopology.LAYER_RESULTS, PlannerTopology.JOB_STATUS, PlannerTopology.COPY_PLAN_FINGERPRINTS,
                PlannerTopology.FINALIZE_PLAN_FINGERPRINTS, PlannerTopology.LAYOUT_FINGERPRINTS)) {
            assertTrue(description.contains(store), store);
        }
        for (String topic : List.of("chunk-stats-by-layer-repartition", "chunk-layouts-by-chunk-repartition",
                "results-by-layer-repartition",
                "layer-status-by-job-repartition")) {
            assertTrue(description.contains(topic), topic);
        }
        assertFalse(description.contains("KSTREAM-"), description);
    }
}
