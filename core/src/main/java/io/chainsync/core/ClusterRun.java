package io.chainsync.core;

/**
 * {@code count} consecutive destination clusters from guest cluster {@code firstCluster}, all of
 * one kind. DATA runs occupy the data clusters {@code firstDataIndex .. firstDataIndex + count - 1}
 * of the layer (numbered in guest order), which fixes their host offsets; other kinds have
 * {@code firstDataIndex == -1}.
 */
public record ClusterRun(long firstCluster, long count, ClusterKind kind, long firstDataIndex) {

    public ClusterRun {
        if (firstCluster < 0 || count <= 0) {
            throw new IllegalArgumentException("bad cluster run: first " + firstCluster + " count " + count);
        }
        if (kind == null) {
            throw new IllegalArgumentException("cluster run kind must not be null");
        }
        if ((kind == ClusterKind.DATA) != (firstDataIndex >= 0)) {
            throw new IllegalArgumentException("data index " + firstDataIndex + " does not fit kind " + kind);
        }
    }

    public long endCluster() {
        return firstCluster + count;
    }
}
