package io.chainsync.core;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * From byte-range decisions to destination clusters.
 *
 * <p>A destination cluster can be exact only if it lies wholly inside what the layer provides
 * (DATA/ZERO) or wholly outside it (SKIP): a cluster mixing both would either hide backing data
 * or drop local data. So every SKIP/local boundary must fall on a cluster boundary; the image end
 * is exempt (the last cluster may be partial). Within a local cluster, DATA and ZERO may mix: the
 * cluster becomes DATA and the zero part is written as zeroes.
 */
public final class ClusterMap {

    /**
     * The coarsest alignment of a layer's SKIP/local boundaries.
     *
     * @param bits the largest cluster_bits (at most {@link #ClusterSizes.MAX_BITS}) every boundary is a multiple of
     * @param offset the boundary that limits it, or -1 when no boundary does
     */
    public record Alignment(int bits, long offset) {

        public static final Alignment UNCONSTRAINED = new Alignment(ClusterSizes.MAX_BITS, -1);

        /** The stricter of two alignments (e.g. of two chunks of one layer). */
        public Alignment min(Alignment other) {
            return other.bits < bits ? other : this;
        }
    }

    private ClusterMap() {
    }

    /** The alignment of every boundary between a SKIP decision and a local (ZERO/DATA) one. */
    public static Alignment alignment(List<Decision> decisions) {
        return alignment(decisions, true);
    }

    /**
     * As {@link #alignment(List)}; without {@code exactOwnership} (see
     * {@link DecisionTable.Mode#exactOwnership()}) no boundary constrains the cluster size.
     */
    public static Alignment alignment(List<Decision> decisions, boolean exactOwnership) {
        if (!exactOwnership) {
            return Alignment.UNCONSTRAINED;
        }
        Alignment result = Alignment.UNCONSTRAINED;
        for (int i = 1; i < decisions.size(); i++) {
            boolean wasSkip = decisions.get(i - 1).action() == Action.SKIP;
            boolean isSkip = decisions.get(i).action() == Action.SKIP;
            if (wasSkip != isSkip) {
                long boundary = decisions.get(i).offset();
                int bits = Math.min(Long.numberOfTrailingZeros(boundary), ClusterSizes.MAX_BITS);
                if (bits < result.bits()) {
                    result = new Alignment(bits, boundary);
                }
            }
        }
        return result;
    }

    /**
     * The destination cluster_bits for a layer: {@link #ClusterSizes.DEFAULT_BITS} or smaller when the
     * alignment demands it; an explicit size that cannot be exact is refused, never approximated.
     *
     * @throws NotReproducibleException when no qcow2 cluster size, or not the forced one, is exact
     */
    public static int chooseClusterBits(Alignment alignment, OptionalInt forcedBits) {
        if (alignment.bits() < ClusterSizes.MIN_BITS) {
            throw new NotReproducibleException("the layer's boundary at offset " + alignment.offset()
                    + " is not aligned to 512 bytes, the smallest qcow2 cluster");
        }
        if (forcedBits.isPresent()) {
            int forced = forcedBits.getAsInt();
            if (forced < ClusterSizes.MIN_BITS || forced > ClusterSizes.MAX_BITS) {
                throw new IllegalArgumentException("cluster size " + (1L << forced) + " is outside 512 B .. 2 MiB");
            }
            if (forced > alignment.bits()) {
                throw new NotReproducibleException("cluster size " + (1L << forced) + " cannot be exact: the layer's"
                        + " boundary at offset " + alignment.offset() + " is aligned to " + (1L << alignment.bits())
                        + " bytes only");
            }
            return forced;
        }
        return Math.min(ClusterSizes.DEFAULT_BITS, alignment.bits());
    }

    /**
     * The clusters covering the decisions, which must tile a range starting on a cluster boundary;
     * the range may end anywhere (a partial last cluster).
     *
     * @param firstDataIndex the data index of this range's first DATA cluster (data clusters of
     *                       earlier ranges of the layer come before it)
     * @throws NotReproducibleException when a cluster mixes SKIP with local decisions
     */
    public static List<ClusterRun> runs(List<Decision> decisions, int clusterBits, long firstDataIndex) {
        return runs(decisions, clusterBits, firstDataIndex, true);
    }

    /**
     * As {@link #runs(List, int, long)}; without {@code exactOwnership} a cluster mixing SKIP with
     * DATA is DATA (the skipped part reads as zeroes from the source too), and one mixing SKIP with
     * ZERO stays unallocated.
     */
    public static List<ClusterRun> runs(List<Decision> decisions, int clusterBits, long firstDataIndex,
                                        boolean exactOwnership) {
        List<ClusterRun> out = new ArrayList<>();
        if (decisions.isEmpty()) {
            return out;
        }
        ClusterRunStream stream = new ClusterRunStream(clusterBits, decisions.get(0).offset(),
                decisions.get(decisions.size() - 1).end(), firstDataIndex, exactOwnership, out::add);
        decisions.forEach(stream::accept);
        stream.finish();
        return out;
    }

    /**
     * For every cluster_bits b in 9..21: the DATA clusters of the decisions and their bytes clipped
     * to the decisions' end, or -1 where b exceeds the alignment (such a cluster size is not exact).
     * A cluster is DATA when any DATA decision touches it (the same rule as {@link #runs});
     * the decisions must start on a 2 MiB boundary, as every chunk does.
     */
    public static void dataClustersByBits(List<Decision> decisions, int alignmentBits, long[] clusters, long[] bytes) {
        long end = decisions.isEmpty() ? 0 : decisions.get(decisions.size() - 1).end();
        for (int b = ClusterSizes.MIN_BITS; b <= ClusterSizes.MAX_BITS; b++) {
            int i = b - ClusterSizes.MIN_BITS;
            if (b > alignmentBits) {
                clusters[i] = -1;
                bytes[i] = -1;
                continue;
            }
            long count = 0;
            long byteCount = 0;
            long nextFree = Long.MIN_VALUE; // first cluster not yet counted
            for (Decision d : decisions) {
                if (d.action() != Action.DATA) {
                    continue;
                }
                long first = Math.max(d.offset() >>> b, nextFree);
                long last = (d.end() - 1) >>> b;
                if (last >= first) {
                    count += last - first + 1;
                    byteCount += Math.min((last + 1) << b, end) - (first << b);
                    nextFree = last + 1;
                }
            }
            clusters[i] = count;
            bytes[i] = byteCount;
        }
    }

    /** Bytes of the DATA clusters in the runs, the last cluster clipped to {@code end} (the virtual size). */
    public static long dataBytes(List<ClusterRun> runs, int clusterBits, long end) {
        long bytes = 0;
        for (ClusterRun run : runs) {
            if (run.kind() == ClusterKind.DATA) {
                bytes += Math.min(run.endCluster() << clusterBits, end) - (run.firstCluster() << clusterBits);
            }
        }
        return bytes;
    }

    /** The number of DATA clusters in the runs. */
    public static long dataClusters(List<ClusterRun> runs) {
        long n = 0;
        for (ClusterRun r : runs) {
            if (r.kind() == ClusterKind.DATA) {
                n += r.count();
            }
        }
        return n;
    }
}
