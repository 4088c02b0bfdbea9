package io.chainsync.jobs;

/** One layer could not be reconstructed exactly; the message names the layer and the reason. */
public class LayerCopyException extends Exception {

    private final String layer;
    private final String reason;

    public LayerCopyException(String layer, String reason, Throwable cause) {
        super("layer " + layer + ": " + reason, cause);
        this.layer = layer;
        this.reason = reason;
    }

    /** Why, without the layer's name. */
    public String reason() {
        return reason;
    }

    public String layer() {
        return layer;
    }
}
