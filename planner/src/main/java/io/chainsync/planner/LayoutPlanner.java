package io.chainsync.planner;

import io.chainsync.core.ClusterSizes;

import io.chainsync.avro.ChunkLayout;
import io.chainsync.avro.ChunkStats;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerScanned;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.NotReproducibleException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.ObjLongConsumer;

/**
 * A layer's layout once its scan summary and every chunk's stats are in: the exact cluster size
 * ({@link ClusterMap#chooseClusterBits} over the strictest chunk alignment, so the same as for the
 * whole layer at once) and, per chunk, the data index of its first DATA cluster (prefix sums of the
 * chunks' DATA cluster counts in chunk order), which fixes every data cluster's host offset before
 * any chunk is copied.
 *
 * <p>Both are one pass over the chunks' stats in chunk order ({@link #plan}, then
 * {@link #firstDataIndexes}), so a layer's layout costs time linear in its chunks and memory
 * independent of them: the stats are streamed from a store, never held together.
 */
public final class LayoutPlanner {

    /** Chunk edges fall on multiples of this (the largest cluster), so no edge splits a cluster. */
    public static final long CHUNK_ALIGNMENT = 1L << ClusterSizes.MAX_BITS;

    private LayoutPlanner() {
    }

    /** The chunks' stats in chunk order, as often as asked (each call a new pass). */
    @FunctionalInterface
    public interface ChunksInOrder {
        Iterator<ChunkStats> iterator();
    }

    /**
     * The layout of a layer: {@code complete == false} while chunks are missing; {@code error} set
     * (and complete) when the scan failed, a chunk failed or the chunks do not tile the layer, or
     * no exact cluster size exists (or not the forced one).
     *
     * @param received how many distinct chunks of the scan's attempt have their stats in
     * @param chunkError the first chunk error of the scan's attempt, or null
     * @param chunks the chunks' stats in chunk order; read (once) only when every chunk is in.
     *               Stats of another attempt than the scan's (left by an earlier attempt, which
     *               may have cut more chunks) are not the scan's chunks and are skipped
     */
    public static LayerLayout plan(LayerScanned scan, long received, String chunkError, ChunksInOrder chunks) {
        LayerLayout.Builder out = LayerLayout.newBuilder(waiting(scan));
        String where = "layer " + scan.getLayer() + " (" + scan.getName() + ") of job " + scan.getJob();
        if (scan.getError() != null) {
            return out.setComplete(true).setError(where + ": scan failed: " + scan.getError()).build();
        }
        if (chunkError != null) {
            return out.setComplete(true).setError(where + ": " + chunkError).build();
        }
        long chunkCount = scan.getChunkCount();
        if (received < chunkCount) {
            return out.build();
        }
        ClusterMap.Alignment alignment = ClusterMap.Alignment.UNCONSTRAINED;
        long[] clusters = new long[ClusterSizes.COUNT];
        long[] bytes = new long[ClusterSizes.COUNT];
        long[] inexactChunk = new long[ClusterSizes.COUNT];
        java.util.Arrays.fill(inexactChunk, -1);
        long expected = 0;
        long covered = 0;
        for (Iterator<ChunkStats> it = chunks.iterator(); it.hasNext(); ) {
            ChunkStats s = it.next();
            if (s.getAttempt() != scan.getAttempt()) {
                continue;
            }
            if (s.getError() != null) {
                return out.setComplete(true).setError(where + ": " + s.getError()).build();
            }
            long c = s.getChunk();
            if (c < 0 || c >= chunkCount) {
                return out.setComplete(true).setError(where + ": chunk " + c + " is outside the layer's "
                        + chunkCount + " chunks").build();
            }
            if (c != expected) {
                return out.setComplete(true).setError(where + ": chunk " + expected + " is missing").build();
            }
            if (s.getStart() != covered || s.getEnd() <= s.getStart() || s.getEnd() > scan.getSize()
                    || (s.getEnd() < scan.getSize() && s.getEnd() % CHUNK_ALIGNMENT != 0)) {
                return out.setComplete(true).setError(where + ": chunk " + c + " covers [" + s.getStart() + ", "
                        + s.getEnd() + ") instead of a range from " + covered + " ending on a multiple of "
                        + CHUNK_ALIGNMENT + " or at " + scan.getSize()).build();
            }
            alignment = alignment.min(new ClusterMap.Alignment(s.getAlignmentBits(), s.getAlignmentOffset()));
            for (int i = 0; i < ClusterSizes.COUNT; i++) {
                long n = s.getDataClustersByBits().get(i);
                long b = s.getDataBytesByBits().isEmpty() ? -1 : s.getDataBytesByBits().get(i);
                if ((n < 0 || b < 0) && inexactChunk[i] < 0) {
                    inexactChunk[i] = c;
                }
                clusters[i] += n;
                bytes[i] += b;
            }
            covered = s.getEnd();
            expected++;
        }
        if (expected != chunkCount || covered != scan.getSize()) {
            return out.setComplete(true).setError(where + ": its " + expected + " chunks cover [0, " + covered
                    + ") instead of " + chunkCount + " chunks covering [0, " + scan.getSize() + ")").build();
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
        if (inexactChunk[index] >= 0) {
            return out.setComplete(true).setError(where + ": chunk " + inexactChunk[index] + " has no exact count at "
                    + (1L << bits) + "-byte clusters").build();
        }
        return out.setComplete(true).setClusterBits(bits).setDataClusters(clusters[index])
                .setDataBytes(bytes[index]).build();
    }

    /** The layout of a layer still waiting for chunks (not complete, nothing chosen). */
    public static LayerLayout waiting(LayerScanned scan) {
        return LayerLayout.newBuilder().setScan(scan).setClusterBits(-1)
                .setFirstDataIndex(new ArrayList<>()).setDataClusters(0).setDataBytes(0).setError(null)
                .setComplete(false).build();
    }

    /**
     * Each chunk's first data index under a usable layout, in chunk order: the DATA clusters of all
     * earlier chunks at the layout's cluster size. One pass over the chunks; stats of another
     * attempt than the layout's scan are skipped (as in {@link #plan}).
     */
    public static void firstDataIndexes(LayerLayout layout, Iterator<ChunkStats> inChunkOrder,
                                        ObjLongConsumer<ChunkStats> sink) {
        if (!isUsable(layout)) {
            throw new IllegalArgumentException("the layout is not usable");
        }
        int index = layout.getClusterBits() - ClusterSizes.MIN_BITS;
        long next = 0;
        while (inChunkOrder.hasNext()) {
            ChunkStats s = inChunkOrder.next();
            if (s.getAttempt() != layout.getScan().getAttempt()) {
                continue;
            }
            sink.accept(s, next);
            next += s.getDataClustersByBits().get(index);
        }
    }

    /** {@link #firstDataIndexes} as a list (chunk i at index i). */
    public static List<Long> firstDataIndexes(LayerLayout layout, Iterable<ChunkStats> inChunkOrder) {
        List<Long> out = new ArrayList<>();
        firstDataIndexes(layout, inChunkOrder.iterator(), (s, first) -> out.add(first));
        return out;
    }

    /** One chunk's place in a layout. */
    public static ChunkLayout chunkLayout(LayerLayout layout, long chunk, long firstDataIndex) {
        return new ChunkLayout(layout, chunk, firstDataIndex);
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
