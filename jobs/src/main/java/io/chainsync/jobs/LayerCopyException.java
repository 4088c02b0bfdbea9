package io.chainsync.jobs;

/** One layer could not be reconstructed exactly; the message names the layer and the reason. */
public class LayerCopyException extends Exception {

    private final String layer;

    public LayerCopyException(String layer, String reason, Throwable cause) {
        super("layer " + layer + ": " + reason, cause);
        this.layer = layer;
    }

    public String layer() {
        return layer;
    }
}
