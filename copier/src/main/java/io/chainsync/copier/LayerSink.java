package io.chainsync.copier;

import io.chainsync.core.ClusterRun;
import java.io.Closeable;
import io.chainsync.core.LayerFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Where one reconstructed layer is written: a file under a temporary name that becomes the layer
 * only on {@link #commit()}. Data writes are positional and may come from many threads.
 */
public interface LayerSink extends DataTarget, Closeable {

    /**
     * Opens the sink of the layer file {@code target}: a sparse raw file or a qcow2 image, as the
     * file's name says ({@link LayerFormat}), written under a temporary name beside it.
     *
     * @param backingName the backing file's name (relative), or null for a bottom layer
     */
    static LayerSink open(Path target, long virtualSize, int clusterBits, String backingName) throws IOException {
        LayerFiles files = new LayerFiles(target);
        if (LayerFormat.of(target.getFileName().toString()) == LayerFormat.RAW) {
            return new RawSink(files, virtualSize, clusterBits);
        }
        return new Qcow2Sink(files, virtualSize, clusterBits, backingName,
                backingName == null ? null : LayerFormat.of(backingName).qemuName());
    }

    /** Removes the temporary file of the layer file {@code target}, if any (best effort). */
    static void discard(Path target) {
        new LayerFiles(target).discard();
    }

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
