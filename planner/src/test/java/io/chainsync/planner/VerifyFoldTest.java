package io.chainsync.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerProgress;
import io.chainsync.avro.LayerResults;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.ResultState;
import io.chainsync.avro.TaskKind;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fold of verification results (docs/design.md §3, "Verification in the pipeline"): a
 * FINALIZE result that verified makes the layer COMPLETE and VERIFIED; one that found a difference
 * makes the layer and the job FAILED with the first differing offset, named in the error.
 */
class VerifyFoldTest {

    private static final long OFFSET = 3 * TestLayers.MIB + 17;

    private static ChunkResult copied() {
        return ChunkResult.newBuilder().setJob(TestLayers.JOB).setLayer(0).setChunk(0).setKind(TaskKind.COPY)
                .setState(ResultState.DONE).setBytes(4096).setWorker("w1").setError(null).setAttempt(0).build();
    }

    private static ChunkResult finalized(boolean verified, long difference, int attempt) {
        return ChunkResult.newBuilder().setJob(TestLayers.JOB).setLayer(0).setChunk(ChunkPlanner.LAYER_TASK)
                .setKind(TaskKind.FINALIZE).setState(difference >= 0 ? ResultState.FAILED : ResultState.DONE)
                .setBytes(0).setWorker("w2")
                .setError(difference >= 0 ? "layer layer0.qcow2: finalize: the layer differs from its source at offset "
                        + difference + ": content of the layer read alone differs" : null)
                .setAttempt(attempt).setVerified(verified).setFirstDifference(difference).build();
    }

    /** A complete one-chunk layout of the seed layer, its scan asking for verification or not. */
    private static LayerLayout layout(boolean verify) {
        TestLayers.Layer seed = TestLayers.seed();
        LayerScanned scan = TestLayers.scan(seed, 0, 1, 2 * TestLayers.MIB);
        scan.setVerify(verify);
        scan.setDirtyBitmap(verify ? "b1" : null);
        return new TestLayers.Chunks().add(ChunkDecider.stats(
                DistributedPlanPropertyTest.decideChunks(seed, 2 * TestLayers.MIB, new Random(1)).get(0)))
                .plan(scan);
    }

    private static LayerResults fold(ChunkResult... results) {
        LayerResults r = ResultTracker.empty();
        for (ChunkResult result : results) {
            r = ResultTracker.add(r, result);
        }
        return r;
    }

    @Test
    void aVerifiedFinalizeMakesTheLayerCompleteAndVerified() {
        LayerResults r = fold(copied(), finalized(true, -1, 0));
        assertTrue(r.getFinalized());
        assertTrue(r.getVerified());
        LayerProgress p = StatusFold.layer(layout(true), r);
        assertEquals(JobState.COMPLETE, p.getStatus().getState());
        assertTrue(p.getStatus().getVerified());
        assertEquals(-1, p.getStatus().getFirstDifference());
        JobStatus job = StatusFold.withLayer(TestLayers.JOB, p, StatusFold.empty());
        assertEquals(JobState.COMPLETE, job.getState());
    }

    @Test
    void aFinalizeWithoutVerificationIsCompleteButNotVerified() {
        LayerProgress p = StatusFold.layer(layout(false), fold(copied(), finalized(false, -1, 0)));
        assertEquals(JobState.COMPLETE, p.getStatus().getState());
        assertFalse(p.getStatus().getVerified());
        assertEquals(-1, p.getStatus().getFirstDifference());
    }

    @Test
    void aDifferenceFailsTheLayerAndTheJobNamingTheLayerAndTheOffset() {
        LayerResults r = fold(copied(), finalized(false, OFFSET, 0));
        assertFalse(r.getFinalized());
        assertEquals(OFFSET, r.getFirstDifference());
        LayerProgress p = StatusFold.layer(layout(true), r);
        assertEquals(JobState.FAILED, p.getStatus().getState());
        assertFalse(p.getStatus().getVerified());
        assertEquals(OFFSET, p.getStatus().getFirstDifference());
        JobStatus job = StatusFold.withLayer(TestLayers.JOB, p, StatusFold.empty());
        assertEquals(JobState.FAILED, job.getState());
        assertTrue(job.getError().contains("layer 0 (layer0.qcow2)") && job.getError().contains("at offset " + OFFSET),
                job.getError());
    }

    @Test
    void aRedeliveredVerdictChangesNothingAndTheFirstFailureStays() {
        LayerResults failed = fold(copied(), finalized(false, OFFSET, 0));
        LayerResults again = ResultTracker.add(failed, finalized(false, OFFSET + 4096, 0));
        assertFalse(again.getChanged());
        assertEquals(OFFSET, again.getFirstDifference());
        LayerResults verified = fold(copied(), finalized(true, -1, 0));
        LayerResults twice = ResultTracker.add(verified, finalized(true, -1, 0));
        assertFalse(twice.getChanged());
        assertTrue(twice.getVerified());
    }

    @Test
    void aRetryStartsTheVerdictAfresh() {
        LayerResults failed = fold(copied(), finalized(false, OFFSET, 0));
        LayerResults retried = ResultTracker.add(failed, finalized(true, -1, 1));
        assertEquals(1, retried.getAttempt());
        assertNull(retried.getError());
        assertEquals(-1, retried.getFirstDifference());
        assertTrue(retried.getVerified());
    }

    @Test
    void theFinalizePlanCarriesWhatTheVerifierReads() {
        ChunkPlan plan = ChunkPlanner.finalizeIfReady(layout(true), fold(copied()));
        assertTrue(plan.getVerify());
        assertEquals(layout(true).getScan().getMode(), plan.getMode());
        assertNotNull(plan.getMode());
        assertEquals("b1", plan.getDirtyBitmap());
        ChunkPlan plain = ChunkPlanner.finalizeIfReady(layout(false), fold(copied()));
        assertFalse(plain.getVerify());
        assertNull(plain.getMode());
    }
}
