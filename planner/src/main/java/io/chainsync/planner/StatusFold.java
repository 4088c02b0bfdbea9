package io.chainsync.planner;

import io.chainsync.avro.JobCommand;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerProgress;
import io.chainsync.avro.LayerResults;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.LayerStatus;
import io.chainsync.avro.SyncJob;
import io.chainsync.kafka.JobFingerprint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The job status: per layer SUBMITTED (nothing seen yet) → SCANNING (scan summary in, chunks or
 * layout pending) → COPYING (layout known) → COMPLETE (finalized), or FAILED with the reason; the
 * job is FAILED if any layer failed, COMPLETE when every layer of the chain is, else the state of
 * its least advanced layer. A job that asked for verification gets a layer's FINALIZE result only
 * once the copier has verified it: a COMPLETE layer is then {@code verified}, and one whose
 * verification failed is FAILED with the first differing offset ({@code firstDifference}) and an
 * error naming the layer and the offset.
 *
 * <p>Job control (docs/design.md §3, "Faults"): a job record of a newer attempt (a retry), or a
 * layer of a newer attempt, starts every layer afresh as SUBMITTED; anything of an older attempt
 * changes nothing. A CANCEL record of the current attempt of a job that has not ended makes the
 * job FAILED with the reason "cancelled", whatever its layers do afterwards.
 */
public final class StatusFold {

    /** The reason of a cancelled job. */
    public static final String CANCELLED = "cancelled";

    private StatusFold() {
    }

    /** One layer's status from its (possibly incomplete) layout and its results so far. */
    public static LayerProgress layer(LayerLayout layout, LayerResults results) {
        LayerScanned scan = layout.getScan();
        results = ResultTracker.ofAttempt(results, scan.getAttempt());
        long chunksDone = results == null ? 0 : ResultTracker.doneChunksBelow(results, scan.getChunkCount());
        long bytesDone = results == null ? 0 : results.getBytes();
        JobState state;
        String error = null;
        if (layout.getError() != null) {
            state = JobState.FAILED;
            error = layout.getError();
        } else if (!layout.getComplete()) {
            state = JobState.SCANNING;
        } else if (results != null && results.getError() != null) {
            state = JobState.FAILED;
            error = "layer " + scan.getLayer() + " (" + scan.getName() + ") of job " + scan.getJob() + ": "
                    + results.getError();
        } else if (results != null && results.getFinalized()) {
            state = JobState.COMPLETE;
        } else {
            state = JobState.COPYING;
        }
        LayerStatus status = new LayerStatus(scan.getLayer(), scan.getName(), state, bytesDone,
                layout.getComplete() ? layout.getDataBytes() : 0L, chunksDone, scan.getChunkCount(), error,
                state == JobState.COMPLETE && results.getVerified(),
                state == JobState.FAILED && results != null ? results.getFirstDifference() : -1L);
        return new LayerProgress(scan.getLayerCount(), status, scan.getAttempt());
    }

    public static JobStatus empty() {
        return new JobStatus("", JobState.SUBMITTED, new ArrayList<>(), null, Instant.EPOCH, null, null, 0, false, null);
    }

    /**
     * A submitted job: every layer not heard of yet is SUBMITTED, under its name. A job id names
     * one job: a later record under the same id with another content (fingerprint) changes
     * nothing here (the scanner refuses it too).
     */
    public static JobStatus withJob(String job, SyncJob submitted, JobStatus status) {
        String fingerprint = JobFingerprint.of(submitted);
        if (status.getFingerprint() != null && !status.getFingerprint().equals(fingerprint)
                || submitted.getAttempt() < status.getAttempt()) {
            return status;
        }
        status = atAttempt(status, submitted.getAttempt());
        JobStatus.Builder changed = JobStatus.newBuilder(status).setDest(submitted.getDest()).setFingerprint(fingerprint);
        if (submitted.getCommand() == JobCommand.CANCEL) {
            if (status.getState() != JobState.COMPLETE && status.getState() != JobState.FAILED) {
                changed.setCancelled(true);
            }
        } else {
            changed.setSpec(submitted);
        }
        status = changed.build();
        List<LayerStatus> layers = padded(status.getLayers(), submitted.getLayers().size());
        for (int i = 0; i < submitted.getLayers().size(); i++) {
            LayerStatus l = layers.get(i);
            LayerSource source = submitted.getLayers().get(i);
            if (l.getState() == JobState.SUBMITTED && l.getName().isEmpty()) {
                layers.set(i, LayerStatus.newBuilder(l).setName(source.getName()).build());
            }
        }
        return summarize(job, layers, status);
    }

    /** A layer's new status (latest wins). */
    public static JobStatus withLayer(String job, LayerProgress progress, JobStatus status) {
        if (progress.getAttempt() < status.getAttempt()) {
            return status;
        }
        status = atAttempt(status, progress.getAttempt());
        LayerStatus layer = progress.getStatus();
        List<LayerStatus> layers = padded(status.getLayers(), Math.max(progress.getLayerCount(), layer.getLayer() + 1));
        layers.set(layer.getLayer(), layer);
        return summarize(job, layers, status);
    }

    /** The status at {@code attempt}: when newer than the status's, every layer starts afresh. */
    private static JobStatus atAttempt(JobStatus status, int attempt) {
        if (attempt <= status.getAttempt()) {
            return status;
        }
        List<LayerStatus> layers = new ArrayList<>();
        for (LayerStatus l : status.getLayers()) {
            layers.add(new LayerStatus(l.getLayer(), l.getName(), JobState.SUBMITTED, 0L, 0L, 0L, 0L, null, false, -1L));
        }
        return JobStatus.newBuilder(status).setAttempt(attempt).setCancelled(false).setLayers(layers)
                .setState(JobState.SUBMITTED).setError(null).build();
    }

    private static List<LayerStatus> padded(List<LayerStatus> layers, int count) {
        List<LayerStatus> out = new ArrayList<>(layers);
        for (int i = out.size(); i < count; i++) {
            out.add(new LayerStatus(i, "", JobState.SUBMITTED, 0L, 0L, 0L, 0L, null, false, -1L));
        }
        return out;
    }

    private static JobStatus summarize(String job, List<LayerStatus> layers, JobStatus previous) {
        JobState state = layers.isEmpty() ? JobState.SUBMITTED : JobState.COMPLETE;
        String error = null;
        for (LayerStatus l : layers) {
            if (l.getState() == JobState.FAILED) {
                if (error == null) {
                    state = JobState.FAILED;
                    error = l.getError();
                }
            } else if (state != JobState.FAILED && progress(l.getState()) < progress(state)) {
                state = l.getState();
            }
        }
        if (previous.getCancelled()) {
            state = JobState.FAILED;
            error = CANCELLED;
        }
        return JobStatus.newBuilder(previous).setJob(job).setState(state).setLayers(layers).setError(error).build();
    }

    /**
     * How far a layer has come: the job is as far as its least advanced layer. Written out rather
     * than taken from the enum's declaration order, which a schema change may reorder.
     */
    static int progress(JobState state) {
        switch (state) {
            case SUBMITTED:
                return 0;
            case SCANNING:
                return 1;
            case COPYING:
                return 2;
            case COMPLETE:
                return 3;
            default:
                throw new IllegalArgumentException("no progress rank for " + state);
        }
    }

    /** The status stamped with the time of the record that changed it (deterministic on replay). */
    public static JobStatus stamped(JobStatus status, long timestamp) {
        return JobStatus.newBuilder(status).setUpdatedAt(Instant.ofEpochMilli(timestamp)).build();
    }
}
