package io.chainsync.copier;

import io.chainsync.core.ClusterRun;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Where the bytes of DATA cluster runs go: a host offset per run, positional thread-safe writes. */
public interface DataTarget {

    /** The host offset where the first byte of a DATA run goes; the run's bytes follow contiguously. */
    long hostOffset(ClusterRun run);

    /**
     * Where a DATA run's first byte goes in a layer file: in a raw file at its guest offset, in a
     * qcow2 file at the fixed offset of its first data cluster.
     */
    static long hostOffset(boolean raw, int clusterBits, ClusterRun run) {
        return raw ? run.firstCluster() << clusterBits
                : io.chainsync.qcow2.Qcow2Writer.dataClusterOffset(clusterBits, run.firstDataIndex());
    }

    /** Writes bytes at a host offset; thread-safe. */
    void write(long hostOffset, ByteBuffer src) throws IOException;
}
