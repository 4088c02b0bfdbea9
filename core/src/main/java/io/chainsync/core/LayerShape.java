package io.chainsync.core;

/**
 * What a layer's decisions, streamed in guest order, say about its destination before any cluster
 * is written: the alignment of its SKIP/local boundaries (which cluster sizes are exact) and, for
 * every cluster size, its DATA clusters and their bytes. Constant memory whatever the layer's size:
 * the first of the two passes of a streamed copy (the second maps the clusters, {@link ClusterRunStream}).
 * Counts follow {@link ClusterMap#runs}: a cluster is DATA when any DATA decision touches it. Pure.
 */
public final class LayerShape {

    private final long start;
    private final long end;
    private final boolean exactOwnership;
    private final long[] clusters = new long[ClusterSizes.COUNT];
    private final long[] bytes = new long[ClusterSizes.COUNT];
    private final long[] nextFree = new long[ClusterSizes.COUNT];
    private ClusterMap.Alignment alignment = ClusterMap.Alignment.UNCONSTRAINED;
    private Action previous;
    private long position;

    /**
     * @param start where the decisions start (a multiple of the largest cluster size)
     * @param end where they end: the virtual size
     * @param exactOwnership see {@link DecisionTable.Mode#exactOwnership()}
     */
    public LayerShape(long start, long end, boolean exactOwnership) {
        if ((start & ((1L << ClusterSizes.MAX_BITS) - 1)) != 0 || end < start) {
            throw new IllegalArgumentException("bad range [" + start + ", " + end + ")");
        }
        this.start = start;
        this.end = end;
        this.exactOwnership = exactOwnership;
        this.position = start;
        java.util.Arrays.fill(nextFree, Long.MIN_VALUE);
    }

    /** Takes the next decision, which must start where the previous one ended. */
    public void accept(Decision d) {
        if (d.offset() != position || d.end() > end) {
            throw new IllegalArgumentException("decision [" + d.offset() + ", " + d.end() + ") does not continue "
                    + position + " within " + end);
        }
        position = d.end();
        boolean skip = d.action() == Action.SKIP;
        if (exactOwnership && previous != null && (previous == Action.SKIP) != skip) {
            int bits = Math.min(Long.numberOfTrailingZeros(d.offset()), ClusterSizes.MAX_BITS);
            if (bits < alignment.bits()) {
                alignment = new ClusterMap.Alignment(bits, d.offset());
            }
        }
        previous = d.action();
        if (d.action() != Action.DATA) {
            return;
        }
        for (int b = ClusterSizes.MIN_BITS; b <= ClusterSizes.MAX_BITS; b++) {
            int i = b - ClusterSizes.MIN_BITS;
            long first = Math.max(d.offset() >>> b, nextFree[i]);
            long last = (d.end() - 1) >>> b;
            if (last >= first) {
                clusters[i] += last - first + 1;
                bytes[i] += Math.min((last + 1) << b, end) - (first << b);
                nextFree[i] = last + 1;
            }
        }
    }

    /** Whether the decisions have reached the end. */
    public boolean complete() {
        return position == end;
    }

    /** The alignment of the SKIP/local boundaries so far. */
    public ClusterMap.Alignment alignment() {
        return alignment;
    }

    /** DATA clusters of size {@code 1 << bits}. */
    public long dataClusters(int bits) {
        return clusters[index(bits)];
    }

    /** Bytes of those DATA clusters, the last one clipped to the end. */
    public long dataBytes(int bits) {
        return bytes[index(bits)];
    }

    private int index(int bits) {
        if (!ClusterSizes.valid(bits)) {
            throw new IllegalArgumentException("not a cluster_bits: " + bits);
        }
        return bits - ClusterSizes.MIN_BITS;
    }

    /** Where the decisions start. */
    public long start() {
        return start;
    }
}
