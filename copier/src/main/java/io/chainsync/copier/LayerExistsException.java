package io.chainsync.copier;

import java.io.IOException;

/**
 * A layer's name is taken in its destination by a file its job did not write, and the job may not
 * replace it (see {@link ExistingLayers}): permanent.
 */
public final class LayerExistsException extends IOException {

    private final String layer;
    private final String reason;

    public LayerExistsException(String layer, String reason) {
        super("layer " + layer + ": " + reason);
        this.layer = layer;
        this.reason = reason;
    }

    /** The layer's name. */
    public String layer() {
        return layer;
    }

    /** Why, without the layer's name. */
    public String reason() {
        return reason;
    }
}
