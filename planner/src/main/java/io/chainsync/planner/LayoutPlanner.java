package io.chainsync.planner;

import io.chainsync.core.ClusterSizes;

import io.chainsync.avro.ChunkStats;
import io.chainsync.avro.LayerChunks;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerScanned;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.NotReproducibleException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * A layer's layout once its scan summary and every chunk's stats are in: the exact cluster size
 * ({@link ClusterMap#chooseClusterBits} over the strictest chunk alignment, so the same as for the
 * whole layer at once) and, per chunk, the data index of its first DATA cluster (prefix sums of the
 * chunks' DATA cluster counts in chunk order), which fixes every data cluster's host offset before
 * any chunk is copied.
 */
public final class LayoutPlanner {

    private LayoutPlanner() {
    }

    public static LayerChunks emptyChunks() {
        return new LayerChunks("", 0, new ArrayList<>(), 0);
    }

    /**
     * Adds (or replaces: latest wins) one chunk's stats; entries stay sorted by chunk index. Stats
     * of a newer attempt of the job (a retry) start the layer afresh; those of an older one are
     * ignored.
     */
    public static LayerChunks add(LayerChunks aggregate, String job, int layer, ChunkStats stats) {
        if (stats.getAttempt() < aggregate.getAttempt()) {
            return aggregate;
        }
        List<ChunkStats> chunks = stats.getAttempt() > aggregate.getAttempt()
                ? new ArrayList<>() : new ArrayList<>(aggregate.getChunks());
        int lo = 0;
        int hi = chunks.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (chunks.get(mid).getChunk() < stats.getChunk()) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo < chunks.size() && chunks.get(lo).getChunk() == stats.getChunk()) {
            chunks.set(lo, stats);
        } else {
            chunks.add(lo, stats);
        }
        return new LayerChunks(job, layer, chunks, stats.getAttempt());
    }

    /**
     * The layout of a layer: {@code complete == false} while chunks are missing; {@code error} set
     * (and complete) when the scan failed, a chunk failed or does not fit the grid, or no exact
     * cluster size exists (or not the forced one).
     *
     * @param chunks the chunks decided so far, or null when none; chunks of another attempt than
     *               the scan's are not the scan's chunks and count as none
     */
    public static LayerLayout plan(LayerScanned scan, LayerChunks chunks) {
        LayerLayout.Builder out = LayerLayout.newBuilder().setScan(scan).setClusterBits(-1)
                .setFirstDataIndex(new ArrayList<>()).setDataClusters(0).setDataBytes(0).setError(null)
                .setComplete(false);
        String where = "layer " + scan.getLayer() + " (" + scan.getName() + ") of job " + scan.getJob();
        if (scan.getError() != null) {
            return out.setComplete(true).setError(where + ": scan failed: " + scan.getError()).build();
        }
        List<ChunkStats> stats = chunks == null || chunks.getAttempt() != scan.getAttempt()
                ? List.of() : chunks.getChunks();
        long chunkCount = scan.getChunkCount();
        long chunkSize = scan.getChunkSize();
        for (ChunkStats s : stats) {
            if (s.getError() != null) {
                return out.setComplete(true).setError(where + ": " + s.getError()).build();
            }
            long c = s.getChunk();
            if (c < 0 || c >= chunkCount) {
                return out.setComplete(true).setError(where + ": chunk " + c + " is outside the layer's "
                        + chunkCount + " chunks").build();
            }
            long start = c * chunkSize;
            long end = Math.min(start + chunkSize, scan.getSize());
            if (s.getStart() != start || s.getEnd() != end) {
                return out.setComplete(true).setError(where + ": chunk " + c + " covers [" + s.getStart() + ", "
                        + s.getEnd() + ") instead of [" + start + ", " + end + ")").build();
            }
        }
        if (stats.size() < chunkCount) {
            return out.build();
        }
        ClusterMap.Alignment alignment = ClusterMap.Alignment.UNCONSTRAINED;
        for (ChunkStats s : stats) {
            alignment = alignment.min(new ClusterMap.Alignment(s.getAlignmentBits(), s.getAlignmentOffset()));
        }
        int bits;
        try {
            OptionalInt forced = scan.getClusterSize() == null
                    ? OptionalInt.empty() : OptionalInt.of(clusterBits(scan.getClusterSize()));
            bits = ClusterMap.chooseClusterBits(alignment, forced);
        } catch (NotReproducibleException | IllegalArgumentException e) {
            return out.setComplete(true).setError(where + " cannot be reconstructed exactly: " + e.getMessage())
                    .build();
        }
        int index = bits - ClusterSizes.MIN_BITS;
        List<Long> firstDataIndex = new ArrayList<>(stats.size());
        long dataClusters = 0;
        long dataBytes = 0;
        for (ChunkStats s : stats) {
            long clusters = s.getDataClustersByBits().get(index);
            long bytes = s.getDataBytesByBits().isEmpty() ? -1 : s.getDataBytesByBits().get(index);
            if (clusters < 0 || bytes < 0) {
                return out.setComplete(true).setError(where + ": chunk " + s.getChunk() + " has no exact count at "
                        + (1L << bits) + "-byte clusters").build();
            }
            firstDataIndex.add(dataClusters);
            dataClusters += clusters;
            dataBytes += bytes;
        }
        return out.setComplete(true).setClusterBits(bits).setFirstDataIndex(firstDataIndex)
                .setDataClusters(dataClusters).setDataBytes(dataBytes).build();
    }

    /** Whether a layout is final: complete, with or without an error. */
    public static boolean isFinal(LayerLayout layout) {
        return layout != null && layout.getComplete();
    }

    /** Whether a layout can be copied: complete and without error. */
    public static boolean isUsable(LayerLayout layout) {
        return layout != null && layout.getComplete() && layout.getError() == null;
    }

    static int clusterBits(int clusterSize) {
        if (clusterSize <= 0 || Integer.bitCount(clusterSize) != 1) {
            throw new IllegalArgumentException("cluster size " + clusterSize + " is not a power of two");
        }
        return Integer.numberOfTrailingZeros(clusterSize);
    }
}
