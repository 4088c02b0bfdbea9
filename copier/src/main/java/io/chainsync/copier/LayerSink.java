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
     * file's name says ({@link LayerFormat}), written under a temporary name beside it, with the
     * default {@link FileModes}.
     *
     * @param backingName the backing file's name (relative), or null for a bottom layer
     */
    static LayerSink open(Path target, long virtualSize, int clusterBits, String backingName) throws IOException {
        return open(target, virtualSize, clusterBits, backingName, FileModes.DEFAULT);
    }

    /**
     * As {@link #open(Path, long, int, String)}, with the file mode of {@code modes}. The directory of
     * {@code target} is taken as named (docs/design.md §3, "Confinement"); in it, the temporary file
     * is created exclusively (an earlier one is removed first) and no link is followed.
     */
    static LayerSink open(Path target, long virtualSize, int clusterBits, String backingName, FileModes modes)
            throws IOException {
        String name = target.getFileName().toString();
        LayerFiles files = new LayerFiles(DestDir.of(target.toAbsolutePath().getParent(), modes), name);
        try {
            if (LayerFormat.of(name) == LayerFormat.RAW) {
                return new RawSink(files, virtualSize, clusterBits);
            }
            return new Qcow2Sink(files, virtualSize, clusterBits, backingName,
                    backingName == null ? null : LayerFormat.of(backingName).qemuName());
        } catch (IOException | RuntimeException e) {
            files.discard();
            TemporaryFileSink.closeDirectory(files);
            throw e;
        }
    }

    /** Removes the temporary file of the layer file {@code target}, if any (best effort). */
    static void discard(Path target) {
        try (DestDir dir = DestDir.of(target.toAbsolutePath().getParent(), FileModes.DEFAULT)) {
            new LayerFiles(dir, target.getFileName().toString()).discard();
        } catch (IOException | RuntimeException ignored) {
            // no directory, nothing to remove
        }
    }

    /**
     * Declares the layer's number of DATA clusters before its runs are mapped, so that its
     * metadata can be written while its data is still being copied. Optional; raw files ignore it.
     */
    default void reserveDataClusters(long count) throws IOException {
        // nothing to place
    }

    /**
     * Records the cluster runs of (part of) the layer, in guest order across calls; call before
     * {@link #commit()}.
     */
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
