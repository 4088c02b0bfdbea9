package io.chainsync.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.JobCommand;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.ResultState;
import io.chainsync.avro.SyncJob;
import io.chainsync.avro.TaskKind;
import io.chainsync.avro.DecisionMode;
import io.chainsync.core.Extent;
import io.chainsync.core.MetaContexts;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Job control in the planner (docs/design.md §3, "Faults"): a retried job (attempt + 1) is planned
 * afresh and its results of the earlier attempt count for nothing; a cancelled attempt is FAILED
 * with the reason "cancelled" whatever its layers do afterwards.
 */
class JobAttemptsTest {

    private static final String JOB = TestLayers.JOB;
    private static final long CHUNK = 2 * TestLayers.MIB;

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

    private void job(int attempt, JobCommand command) {
        job(planner.jobs, attempt, command);
    }

    private static void job(TestInputTopic<JobKey, SyncJob> jobs, int attempt, JobCommand command) {
        jobs.pipeInput(new JobKey(JOB), SyncJob.newBuilder().setJob(JOB)
                .setLayers(new ArrayList<>(List.of(new LayerSource("base.qcow2", "nbd+unix:///?socket=/s"))))
                .setDest("out").setClusterSize(null).setDirtyBitmap(null).setChunkSize(CHUNK)
                .setSubmittedAt(Instant.ofEpochMilli(1_000_000)).setAttempt(attempt).setCommand(command).build());
    }

    /** The seed layer scanned at {@code attempt}: its chunk's contexts, then its summary. */
    private void scanned(int attempt) {
        TestLayers.Layer seed = TestLayers.seed();
        for (ChunkExtents e : TestLayers.chunkRecords(seed, 0, CHUNK)) {
            planner.extents.pipeInput(new ChunkKey(JOB, 0, e.getChunk()),
                    ChunkExtents.newBuilder(e).setAttempt(attempt).build());
        }
        planner.scans.pipeInput(new LayerKey(JOB, 0),
                LayerScanned.newBuilder(TestLayers.scan(seed, 0, 1, CHUNK)).setAttempt(attempt).build());
    }

    private void result(long chunk, TaskKind kind, ResultState state, int attempt) {
        planner.results.pipeInput(new ChunkKey(JOB, 0, chunk), new ChunkResult(JOB, 0, chunk, kind, state, 65536L, "w",
                state == ResultState.FAILED ? "source away" : null, attempt, false, -1L));
    }

    private JobStatus last() {
        return planner.status.readKeyValuesToMap().get(new JobKey(JOB));
    }

    @Test
    void aRetryIsPlannedAfreshAndResultsOfTheFailedAttemptCountForNothing() {
        job(0, JobCommand.RUN);
        scanned(0);
        List<KeyValue<ChunkKey, ChunkPlan>> first = planner.plans.readKeyValuesToList();
        assertEquals(1, first.size(), first.toString());
        assertEquals(0, first.get(0).value.getAttempt());
        result(0, TaskKind.COPY, ResultState.FAILED, 0);
        JobStatus failed = last();
        assertEquals(JobState.FAILED, failed.getState());
        assertNotNull(failed.getSpec(), "the status carries the job, for retry");

        job(1, JobCommand.RUN);
        JobStatus retried = last();
        assertEquals(1, retried.getAttempt());
        assertEquals(JobState.SUBMITTED, retried.getState());
        assertEquals(null, retried.getError());
        assertEquals(JobState.SUBMITTED, retried.getLayers().get(0).getState());

        scanned(1);
        List<KeyValue<ChunkKey, ChunkPlan>> again = planner.plans.readKeyValuesToList();
        assertEquals(1, again.size(), "the same chunk is planned again for the new attempt: " + again);
        assertEquals(1, again.get(0).value.getAttempt());
        assertEquals(first.get(0).value.getRuns(), again.get(0).value.getRuns());
        assertEquals(JobState.COPYING, last().getState());

        result(0, TaskKind.COPY, ResultState.DONE, 0); // a late result of the failed attempt
        result(0, TaskKind.COPY, ResultState.FAILED, 0);
        assertTrue(planner.plans.isEmpty(), "a result of the old attempt asked for a FINALIZE");
        JobStatus stillCopying = planner.status.readKeyValuesToMap().get(new JobKey(JOB));
        assertTrue(stillCopying == null || stillCopying.getState() == JobState.COPYING, String.valueOf(stillCopying));

        completesAtAttempt1(1);

        job(0, JobCommand.RUN); // the first attempt's record delivered again: changes nothing
        JobStatus after = planner.status.readKeyValuesToMap().get(new JobKey(JOB));
        assertTrue(after == null || after.getState() == JobState.COMPLETE && after.getAttempt() == 1,
                String.valueOf(after));
    }

    @Test
    void aCancelledAttemptIsFailedCancelledAndARetryRunsAgain() {
        job(0, JobCommand.RUN);
        scanned(0);
        assertEquals(1, planner.plans.readKeyValuesToList().size());
        job(0, JobCommand.CANCEL);
        JobStatus cancelled = last();
        assertEquals(JobState.FAILED, cancelled.getState());
        assertEquals(StatusFold.CANCELLED, cancelled.getError());
        assertTrue(cancelled.getCancelled());

        result(0, TaskKind.COPY, ResultState.DONE, 0); // a task already running when cancelled
        assertEquals(JobState.FAILED, last().getState(), "a cancelled job came back");
        result(-1, TaskKind.FINALIZE, ResultState.DONE, 0);
        assertEquals(JobState.FAILED, last().getState(), "a cancelled job came back");

        job(1, JobCommand.RUN);
        JobStatus retried = last();
        assertFalse(retried.getCancelled());
        assertEquals(JobState.SUBMITTED, retried.getState());
        scanned(1);
        result(0, TaskKind.COPY, ResultState.DONE, 1);
        result(-1, TaskKind.FINALIZE, ResultState.DONE, 1);
        assertEquals(JobState.COMPLETE, last().getState());
    }

    /**
     * A retry cuts its chunks afresh: here the failed attempt cut 3 chunks and the retry 2 (a larger
     * chunk size stands in for different data). The old attempt's third chunk stays in the planner's
     * chunk-stats store; the retry's layout must count and read only its own 2 chunks, and give
     * exactly the plans a planner that never saw the failed attempt gives.
     */
    @Test
    void aRetryWithFewerChunksIsLaidOutFromItsOwnChunksOnly() {
        long mib = TestLayers.MIB;
        TestLayers.Layer layer = new TestLayers.Layer(6 * mib, DecisionMode.ALLOCATION_DEPTH,
                List.of(new Extent(0, mib, 0), new Extent(mib, 4 * mib, 3), new Extent(5 * mib, mib, 0)),
                List.of(new Extent(0, 6 * mib, MetaContexts.DEPTH_LOCAL)), null);
        long oldChunk = 2 * mib;
        long newChunk = 4 * mib;
        job(0, JobCommand.RUN);
        layerScanned(planner.extents, planner.scans, layer, oldChunk, 0);
        List<KeyValue<ChunkKey, ChunkPlan>> first = planner.plans.readKeyValuesToList();
        assertEquals(3, first.size(), first.toString());
        result(0, TaskKind.COPY, ResultState.FAILED, 0);
        assertEquals(JobState.FAILED, last().getState());

        job(1, JobCommand.RUN);
        layerScanned(planner.extents, planner.scans, layer, newChunk, 1);
        Map<Long, ChunkPlan> retried = byChunk(planner.plans.readKeyValuesToList());
        assertEquals(List.of(0L, 1L), new ArrayList<>(retried.keySet()), "the retry's plans: " + retried);
        for (ChunkPlan p : retried.values()) {
            assertEquals(TaskKind.COPY, p.getKind());
            assertEquals(1, p.getAttempt());
            assertEquals(2L, p.getChunkCount());
        }
        JobStatus copying = last();
        assertEquals(JobState.COPYING, copying.getState(), String.valueOf(copying));

        // the same attempt on a planner that never saw the failed one
        try (PlannerDriver fresh = new PlannerDriver(stateDir.resolve("fresh"))) {
            job(fresh.jobs, 1, JobCommand.RUN);
            layerScanned(fresh.extents, fresh.scans, layer, newChunk, 1);
            Map<Long, ChunkPlan> expected = byChunk(fresh.plans.readKeyValuesToList());
            assertEquals(expected, retried);
        }

        completesAtAttempt1(2);
    }

    /** Chunks 0..chunks-1 copied at attempt 1: one FINALIZE of attempt 1, then the job COMPLETE with every chunk done. */
    private void completesAtAttempt1(long chunks) {
        for (long c = 0; c < chunks; c++) {
            result(c, TaskKind.COPY, ResultState.DONE, 1);
        }
        List<KeyValue<ChunkKey, ChunkPlan>> fin = planner.plans.readKeyValuesToList();
        assertEquals(1, fin.size(), fin.toString());
        assertEquals(TaskKind.FINALIZE, fin.get(0).value.getKind());
        assertEquals(1, fin.get(0).value.getAttempt());
        result(-1, TaskKind.FINALIZE, ResultState.DONE, 1);
        JobStatus complete = last();
        assertEquals(JobState.COMPLETE, complete.getState());
        assertEquals(chunks, complete.getLayers().get(0).getChunksDone());
    }

    /** A layer scanned at {@code attempt} with chunks of {@code chunkSize}: its chunks' contexts, then its summary. */
    private static void layerScanned(TestInputTopic<ChunkKey, ChunkExtents> extents,
                                     TestInputTopic<LayerKey, LayerScanned> scans, TestLayers.Layer layer,
                                     long chunkSize, int attempt) {
        for (ChunkExtents e : TestLayers.chunkRecords(layer, 0, chunkSize)) {
            extents.pipeInput(new ChunkKey(JOB, 0, e.getChunk()), ChunkExtents.newBuilder(e).setAttempt(attempt).build());
        }
        scans.pipeInput(new LayerKey(JOB, 0),
                LayerScanned.newBuilder(TestLayers.scan(layer, 0, 1, chunkSize)).setAttempt(attempt).build());
    }

    /** The latest COPY plan per chunk (a null value removes it). */
    private static Map<Long, ChunkPlan> byChunk(List<KeyValue<ChunkKey, ChunkPlan>> records) {
        Map<Long, ChunkPlan> out = new TreeMap<>();
        for (KeyValue<ChunkKey, ChunkPlan> kv : records) {
            if (kv.value == null) {
                out.remove(kv.key.getChunk());
            } else {
                out.put(kv.key.getChunk(), kv.value);
            }
        }
        return out;
    }
}
