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
        long clusterSize = 1L << clusterBits;
        long start = decisions.get(0).offset();
        long end = decisions.get(decisions.size() - 1).end();
        if ((start & (clusterSize - 1)) != 0) {
            throw new IllegalArgumentException("decisions start at " + start + ", not on a cluster boundary");
        }
        RunBuilder builder = new RunBuilder(out, firstDataIndex);
        int i = 0;
        long pos = start;
        while (pos < end) {
            while (decisions.get(i).end() <= pos) {
                i++;
            }
            Decision d = decisions.get(i);
            long cluster = pos >>> clusterBits;
            long clusterEnd = Math.min(pos + clusterSize, end);
            if (d.end() >= clusterEnd) {
                // whole clusters inside one decision: take them all at once
                long wholeEnd = d.end() >= end ? end : (d.end() >>> clusterBits) << clusterBits;
                long count = (wholeEnd - pos + clusterSize - 1) >>> clusterBits;
                builder.add(cluster, count, ClusterKind.of(d.action()));
                pos = Math.min(pos + (count << clusterBits), end);
            } else {
                builder.add(cluster, 1, mixedKind(decisions, i, pos, clusterEnd, exactOwnership));
                pos = clusterEnd;
            }
        }
        return out;
    }

    /** The kind of one cluster [pos, clusterEnd) spanning several decisions from index i. */
    private static ClusterKind mixedKind(List<Decision> decisions, int i, long pos, long clusterEnd,
                                         boolean exactOwnership) {
        boolean skip = false;
        boolean local = false;
        boolean data = false;
        for (int j = i; j < decisions.size() && decisions.get(j).offset() < clusterEnd; j++) {
            Action a = decisions.get(j).action();
            skip |= a == Action.SKIP;
            local |= a != Action.SKIP;
            data |= a == Action.DATA;
        }
        if (skip && local && !exactOwnership) {
            return data ? ClusterKind.DATA : ClusterKind.UNALLOCATED;
        }
        if (skip && local) {
            throw new NotReproducibleException("the cluster at offset " + pos + " mixes ranges the layer provides"
                    + " with ranges it does not (cluster size " + (clusterEnd - pos) + " is too large)");
        }
        return skip ? ClusterKind.UNALLOCATED : data ? ClusterKind.DATA : ClusterKind.ZERO;
    }

    /** Appends runs, merging a run into its predecessor when kind (and data numbering) continue. */
    private static final class RunBuilder {
        private final List<ClusterRun> out;
        private long nextDataIndex;

        RunBuilder(List<ClusterRun> out, long firstDataIndex) {
            this.out = out;
            this.nextDataIndex = firstDataIndex;
        }

        void add(long cluster, long count, ClusterKind kind) {
            long dataIndex = kind == ClusterKind.DATA ? nextDataIndex : -1;
            if (kind == ClusterKind.DATA) {
                nextDataIndex += count;
            }
            if (!out.isEmpty()) {
                ClusterRun last = out.get(out.size() - 1);
                if (last.kind() == kind && last.endCluster() == cluster) {
                    out.set(out.size() - 1, new ClusterRun(last.firstCluster(), last.count() + count, kind,
                            last.firstDataIndex()));
                    return;
                }
            }
            out.add(new ClusterRun(cluster, count, kind, dataIndex));
        }
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
