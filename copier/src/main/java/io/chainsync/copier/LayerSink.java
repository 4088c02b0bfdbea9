package io.chainsync.copier;

import io.chainsync.planner.ClusterRun;
import java.io.Closeable;
import java.io.IOException;
import java.util.List;

/**
 * Where one reconstructed layer is written: a file under a temporary name that becomes the layer
 * only on {@link #commit()}. Data writes are positional and may come from many threads.
 */
public interface LayerSink extends DataTarget, Closeable {

    /** Records the cluster runs of (part of) the layer; call before {@link #commit()}. */
    void map(List<ClusterRun> runs) throws IOException;

    /** Writes the metadata, flushes to disk and renames the temporary file to the layer's name. */
    void commit() throws IOException;

    /** Gives up: closes and removes the temporary file. Idempotent; a no-op after commit. */
    void abort();

    @Override
    default void close() {
        abort();
    }
}
