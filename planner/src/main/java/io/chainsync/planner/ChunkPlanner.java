package io.chainsync.planner;

import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkLayout;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ClusterRunRecord;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerResults;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.TaskKind;
import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.ClusterRun;
import io.chainsync.core.NotReproducibleException;
import java.util.ArrayList;
import java.util.List;

/**
 * The copiers' tasks: one COPY plan per chunk once its layer's layout is known, and one FINALIZE
 * plan (chunk -1, no runs) per layer once every chunk is copied.
 */
public final class ChunkPlanner {

    /** The chunk index of whole-layer tasks. */
    public static final long LAYER_TASK = -1;

    private ChunkPlanner() {
    }

    /**
     * The COPY plan of a decided chunk, or null when there is none to give: the chunk or the layout
     * failed (the status reports why), the layout is incomplete, or the chunk and the layout belong
     * to different attempts of the job.
     */
    public static ChunkPlan copyPlan(ChunkDecided decided, ChunkLayout place) {
        LayerLayout layout = place == null ? null : place.getLayout();
        if (decided.getError() != null || !LayoutPlanner.isUsable(layout)
                || decided.getAttempt() != layout.getScan().getAttempt()) {
            return null;
        }
        long chunk = decided.getChunk();
        if (chunk != place.getChunk() || chunk < 0 || chunk >= layout.getScan().getChunkCount()) {
            return null;
        }
        int bits = layout.getClusterBits();
        List<ClusterRun> runs;
        try {
            runs = ClusterMap.runs(ChunkDecider.decisions(decided), bits, place.getFirstDataIndex(),
                    ChunkDecider.mode(layout.getScan().getMode()).exactOwnership());
        } catch (NotReproducibleException | IllegalArgumentException e) {
            // cannot happen for a layout built from this chunk's own alignment; never approximate
            return null;
        }
        long virtualSize = layout.getScan().getSize();
        List<ClusterRunRecord> records = new ArrayList<>(runs.size());
        for (ClusterRun r : runs) {
            records.add(new ClusterRunRecord(r.firstCluster(), r.count(),
                    io.chainsync.avro.ClusterKind.valueOf(r.kind().name()), r.firstDataIndex()));
        }
        return plan(layout, decided.getChunk(), TaskKind.COPY, records,
                ClusterMap.dataBytes(runs, bits, virtualSize));
    }

    /** The FINALIZE plan of a usable layout (chunk -1, no runs; dataBytes = the layer's). */
    public static ChunkPlan finalizePlan(LayerLayout layout) {
        ChunkPlan plan = plan(layout, LAYER_TASK, TaskKind.FINALIZE, new ArrayList<>(), layout.getDataBytes());
        LayerScanned scan = layout.getScan();
        if (scan.getVerify()) { // the copier verifies the layer against its source, reading what the scan read
            plan.setVerify(true);
            plan.setMode(scan.getMode());
            plan.setDirtyBitmap(scan.getDirtyBitmap());
        }
        return plan;
    }

    /**
     * The FINALIZE plan when every chunk of the layer is copied and nothing failed, else null.
     * A layer of no chunks (size 0) is ready at once. Results of another attempt than the
     * layout's count as none.
     */
    public static ChunkPlan finalizeIfReady(LayerLayout layout, LayerResults results) {
        if (!LayoutPlanner.isUsable(layout)) {
            return null;
        }
        results = ResultTracker.ofAttempt(results, layout.getScan().getAttempt());
        long done = results == null ? 0 : ResultTracker.doneChunksBelow(results, layout.getScan().getChunkCount());
        boolean failed = results != null && results.getError() != null;
        if (failed || done < layout.getScan().getChunkCount()) {
            return null;
        }
        return finalizePlan(layout);
    }

    private static ChunkPlan plan(LayerLayout layout, long chunk, TaskKind kind, List<ClusterRunRecord> runs,
                                  long dataBytes) {
        LayerScanned scan = layout.getScan();
        return ChunkPlan.newBuilder()
                .setJob(scan.getJob()).setLayer(scan.getLayer()).setChunk(chunk).setKind(kind)
                .setName(scan.getName()).setUri(scan.getUri()).setDest(scan.getDest())
                .setVirtualSize(scan.getSize()).setClusterBits(layout.getClusterBits())
                .setChunkCount(scan.getChunkCount())
                .setBackingName(scan.getBackingName()).setBackingFormat(scan.getBackingFormat())
                .setRuns(runs).setDataBytes(dataBytes)
                .setAttempt(scan.getAttempt())
                .setJobLayers(scan.getJobLayers()).setReplace(scan.getReplace())
                .build();
    }
}
