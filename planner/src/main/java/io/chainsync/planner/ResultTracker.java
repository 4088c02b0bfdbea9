package io.chainsync.planner;

import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.LayerResults;
import io.chainsync.avro.ResultState;
import io.chainsync.avro.TaskKind;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Folds a layer's copier results, idempotently: a chunk counts once however often its DONE
 * result is delivered (its bytes too); the first failure is kept. A result of a newer attempt of
 * the job (a retry) starts the layer afresh; one of an older attempt is ignored. A FINALIZE result
 * of a job that asked for verification carries the verdict: DONE and verified, or FAILED with the
 * first offset where the layer differs from its source (kept with the failure).
 */
public final class ResultTracker {

    private ResultTracker() {
    }

    public static LayerResults empty() {
        return new LayerResults("", 0, new ArrayList<>(), 0L, false, false, null, false, 0, false, -1L);
    }

    public static LayerResults add(LayerResults aggregate, ChunkResult result) {
        if (result.getAttempt() < aggregate.getAttempt()) {
            return LayerResults.newBuilder(aggregate).setChanged(false).build();
        }
        if (result.getAttempt() > aggregate.getAttempt()) {
            aggregate = LayerResults.newBuilder(empty()).setAttempt(result.getAttempt()).build();
        }
        List<Long> done = new ArrayList<>(aggregate.getDoneChunks());
        LayerResults.Builder out = LayerResults.newBuilder(aggregate).setJob(result.getJob())
                .setLayer(result.getLayer()).setDoneChunks(done).setChanged(false);
        if (result.getState() == ResultState.FAILED) {
            if (aggregate.getError() == null) {
                String what = result.getKind() == TaskKind.FINALIZE ? "finalizing" : "chunk " + result.getChunk();
                out.setError(what + " of layer " + result.getLayer() + " failed on " + result.getWorker() + ": "
                        + result.getError()).setFirstDifference(result.getFirstDifference()).setChanged(true);
            }
            return out.build();
        }
        if (result.getKind() == TaskKind.FINALIZE) {
            if (!aggregate.getFinalized()) {
                out.setFinalized(true).setVerified(result.getVerified()).setChanged(true);
            }
            return out.build();
        }
        int at = Collections.binarySearch(done, result.getChunk());
        if (at < 0) {
            done.add(-at - 1, result.getChunk());
            out.setBytes(aggregate.getBytes() + result.getBytes()).setChanged(true);
        }
        return out.build();
    }

    /** The results if they belong to {@code attempt}, else null (none yet for that attempt). */
    static LayerResults ofAttempt(LayerResults results, int attempt) {
        return results == null || results.getAttempt() != attempt ? null : results;
    }

    /** Chunks in [0, chunkCount) copied. */
    static long doneChunksBelow(LayerResults results, long chunkCount) {
        long n = 0;
        for (long c : results.getDoneChunks()) {
            if (c >= 0 && c < chunkCount) {
                n++;
            }
        }
        return n;
    }
}
