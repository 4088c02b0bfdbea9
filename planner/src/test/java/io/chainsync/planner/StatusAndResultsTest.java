package io.chainsync.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerProgress;
import io.chainsync.avro.LayerResults;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.LayerStatus;
import io.chainsync.avro.ResultState;
import io.chainsync.avro.SyncJob;
import io.chainsync.avro.TaskKind;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusAndResultsTest {

    private static ChunkResult result(long chunk, TaskKind kind, ResultState state, long bytes) {
        return new ChunkResult(TestLayers.JOB, 0, chunk, kind, state, bytes, "w", state == ResultState.FAILED ? "boom" : null, 0, false, -1L);
    }

    @Test
    void resultsCountEachChunkOnce() {
        LayerResults r = ResultTracker.empty();
        r = ResultTracker.add(r, result(2, TaskKind.COPY, ResultState.DONE, 10));
        r = ResultTracker.add(r, result(0, TaskKind.COPY, ResultState.DONE, 5));
        assertTrue(r.getChanged());
        r = ResultTracker.add(r, result(2, TaskKind.COPY, ResultState.DONE, 10));
        assertFalse(r.getChanged());
        assertEquals(List.of(0L, 2L), r.getDoneChunks());
        assertEquals(15, r.getBytes());
        assertNull(r.getError());
        r = ResultTracker.add(r, result(1, TaskKind.COPY, ResultState.FAILED, 0));
        assertTrue(r.getError().contains("chunk 1 of layer 0 failed on w: boom"), r.getError());
        r = ResultTracker.add(r, result(-1, TaskKind.FINALIZE, ResultState.DONE, 0));
        assertTrue(r.getFinalized());
    }

    @Test
    void finalizeOnlyWhenEveryChunkIsDoneAndNothingFailed() {
        TestLayers.Layer seed = TestLayers.seed();
        LayerLayout layout = new TestLayers.Chunks().add(ChunkDecider.stats(
                        DistributedPlanPropertyTest.decideChunks(seed, 2 * TestLayers.MIB, new java.util.Random(1))
                                .get(0))).plan(TestLayers.scan(seed, 0, 1, 2 * TestLayers.MIB));
        assertNull(ChunkPlanner.finalizeIfReady(layout, null));
        LayerResults done = ResultTracker.add(ResultTracker.empty(), result(0, TaskKind.COPY, ResultState.DONE, 1));
        assertNotNull(ChunkPlanner.finalizeIfReady(layout, done));
        assertEquals(TaskKind.FINALIZE, ChunkPlanner.finalizeIfReady(layout, done).getKind());
        LayerResults failed = ResultTracker.add(done, result(0, TaskKind.COPY, ResultState.FAILED, 0));
        assertNull(ChunkPlanner.finalizeIfReady(layout, failed));
    }

    private static LayerProgress layer(int index, JobState state) {
        return new LayerProgress(3, new LayerStatus(index, "l" + index, state, 0L, 0L, 0L, 0L,
                state == JobState.FAILED ? "layer " + index + " broke" : null, false, -1L), 0);
    }

    @Test
    void jobStateIsTheLeastAdvancedLayerOrFailedOrComplete() {
        SyncJob job = new SyncJob(TestLayers.JOB, List.of(new LayerSource("a", "u"), new LayerSource("b", "u"),
                new LayerSource("c", "u")), "out", null, null, 2L << 20, Instant.EPOCH, null, false, 0,
                io.chainsync.avro.JobCommand.RUN, false, false);
        JobStatus s = StatusFold.withJob(TestLayers.JOB, job, StatusFold.empty());
        assertEquals(JobState.SUBMITTED, s.getState());
        assertEquals(3, s.getLayers().size());
        assertEquals("b", s.getLayers().get(1).getName());
        s = StatusFold.withLayer(TestLayers.JOB, layer(0, JobState.COMPLETE), s);
        s = StatusFold.withLayer(TestLayers.JOB, layer(1, JobState.COPYING), s);
        s = StatusFold.withLayer(TestLayers.JOB, layer(2, JobState.SCANNING), s);
        assertEquals(JobState.SCANNING, s.getState());
        s = StatusFold.withLayer(TestLayers.JOB, layer(2, JobState.COMPLETE), s);
        assertEquals(JobState.COPYING, s.getState());
        s = StatusFold.withLayer(TestLayers.JOB, layer(1, JobState.COMPLETE), s);
        assertEquals(JobState.COMPLETE, s.getState());
        s = StatusFold.withLayer(TestLayers.JOB, layer(1, JobState.FAILED), s);
        assertEquals(JobState.FAILED, s.getState());
        assertEquals("layer 1 broke", s.getError());
        // a layer heard of before the job: padded to the scan's layer count, not complete
        JobStatus early = StatusFold.withLayer(TestLayers.JOB, layer(2, JobState.COMPLETE), StatusFold.empty());
        assertEquals(3, early.getLayers().size());
        assertEquals(JobState.SUBMITTED, early.getState());
        assertEquals("b", StatusFold.withJob(TestLayers.JOB, job, early).getLayers().get(1).getName());
    }
}
