package io.chainsync.copier;

import io.chainsync.planner.ClusterRun;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Where the bytes of DATA cluster runs go: a host offset per run, positional thread-safe writes. */
public interface DataTarget {

    /** The host offset where the first byte of a DATA run goes; the run's bytes follow contiguously. */
    long hostOffset(ClusterRun run);

    /** Writes bytes at a host offset; thread-safe. */
    void write(long hostOffset, ByteBuffer src) throws IOException;
}
