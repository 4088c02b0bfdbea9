package io.chainsync.core;

import java.util.function.Consumer;

/**
 * From decisions to destination clusters as the decisions arrive, in guest order: the streaming
 * form of {@link ClusterMap#runs}, with the same rules. A cluster that several decisions share is
 * held until its last decision arrives; a run is handed on once the next one cannot continue it.
 * Memory is constant. Pure.
 */
public final class ClusterRunStream {

    private final int clusterBits;
    private final long end;
    private final boolean exactOwnership;
    private final Consumer<ClusterRun> out;
    private long position;
    private long nextDataIndex;
    /** The cluster being shared by several decisions, or -1, and what they are. */
    private long sharedCluster = -1;
    private boolean sharedSkip;
    private boolean sharedLocal;
    private boolean sharedData;
    /** The run not yet handed on (it may grow), or null. */
    private ClusterRun held;

    /**
     * @param start where the decisions start: a cluster boundary
     * @param end where they end (the virtual size, or a chunk's end): the last cluster may be partial
     * @param firstDataIndex the data index of the first DATA cluster
     * @param exactOwnership see {@link ClusterMap#runs(java.util.List, int, long, boolean)}
     */
    public ClusterRunStream(int clusterBits, long start, long end, long firstDataIndex, boolean exactOwnership,
                            Consumer<ClusterRun> out) {
        if ((start & ((1L << clusterBits) - 1)) != 0) {
            throw new IllegalArgumentException("decisions start at " + start + ", not on a cluster boundary");
        }
        if (end < start) {
            throw new IllegalArgumentException("bad range [" + start + ", " + end + ")");
        }
        this.clusterBits = clusterBits;
        this.end = end;
        this.exactOwnership = exactOwnership;
        this.out = out;
        this.position = start;
        this.nextDataIndex = firstDataIndex;
    }

    /**
     * Takes the next decision, which must start where the previous one ended.
     *
     * @throws NotReproducibleException when a cluster mixes SKIP with local decisions (exact ownership)
     */
    public void accept(Decision d) {
        if (d.offset() != position || d.end() > end) {
            throw new IllegalArgumentException("decision [" + d.offset() + ", " + d.end() + ") does not continue "
                    + position + " within " + end);
        }
        long dEnd = d.end();
        if (sharedCluster >= 0) {
            long clusterEnd = Math.min((sharedCluster + 1) << clusterBits, end);
            share(d.action());
            if (dEnd < clusterEnd) {
                position = dEnd;
                return;
            }
            add(sharedCluster, 1, sharedKind(sharedCluster << clusterBits, clusterEnd));
            sharedCluster = -1;
            position = clusterEnd;
        }
        if (position < dEnd) {
            // whole clusters inside the decision (the partial last cluster of the range counts as whole)
            long wholeEnd = dEnd >= end ? end : (dEnd >>> clusterBits) << clusterBits;
            if (wholeEnd > position) {
                long count = (wholeEnd - position + (1L << clusterBits) - 1) >>> clusterBits;
                add(position >>> clusterBits, count, ClusterKind.of(d.action()));
                position = Math.min(position + (count << clusterBits), end);
            }
            if (position < dEnd) {
                sharedCluster = position >>> clusterBits;
                sharedSkip = false;
                sharedLocal = false;
                sharedData = false;
                share(d.action());
                position = dEnd;
            }
        }
    }

    /** Hands on the last run; the decisions must have reached the end. */
    public void finish() {
        if (position != end || sharedCluster >= 0) {
            throw new IllegalArgumentException("decisions cover only up to " + position + " of " + end);
        }
        if (held != null) {
            out.accept(held);
            held = null;
        }
    }

    /** The data index the next DATA cluster gets: the DATA clusters so far, plus the first index. */
    public long nextDataIndex() {
        return nextDataIndex;
    }

    private void share(Action a) {
        sharedSkip |= a == Action.SKIP;
        sharedLocal |= a != Action.SKIP;
        sharedData |= a == Action.DATA;
    }

    /** The kind of one cluster [from, to) spanning several decisions. */
    private ClusterKind sharedKind(long from, long to) {
        if (sharedSkip && sharedLocal && !exactOwnership) {
            return sharedData ? ClusterKind.DATA : ClusterKind.UNALLOCATED;
        }
        if (sharedSkip && sharedLocal) {
            throw new NotReproducibleException("the cluster at offset " + from + " mixes ranges the layer provides"
                    + " with ranges it does not (cluster size " + (to - from) + " is too large)");
        }
        return sharedSkip ? ClusterKind.UNALLOCATED : sharedData ? ClusterKind.DATA : ClusterKind.ZERO;
    }

    /** Appends clusters, merging them into the held run when kind (and data numbering) continue. */
    private void add(long cluster, long count, ClusterKind kind) {
        long dataIndex = kind == ClusterKind.DATA ? nextDataIndex : -1;
        if (kind == ClusterKind.DATA) {
            nextDataIndex += count;
        }
        if (held != null && held.kind() == kind && held.endCluster() == cluster) {
            held = new ClusterRun(held.firstCluster(), held.count() + count, kind, held.firstDataIndex());
            return;
        }
        if (held != null) {
            out.accept(held);
        }
        held = new ClusterRun(cluster, count, kind, dataIndex);
    }
}
