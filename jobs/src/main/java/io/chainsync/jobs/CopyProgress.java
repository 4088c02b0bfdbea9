package io.chainsync.jobs;

/** Progress of a chain copy, per layer; called from copier threads. */
public interface CopyProgress {

    CopyProgress NONE = new CopyProgress() {
    };

    /** The layer is planned: {@code dataBytes} will be read from its source. */
    default void layerPlanned(String layer, long dataBytes) {
    }

    /** {@code bytes} more of the layer's data are written. */
    default void bytesCopied(String layer, long bytes) {
    }

    /** The layer is complete under its final name. */
    default void layerCompleted(String layer) {
    }
}
