package io.chainsync.copier;

import java.io.IOException;

/** A layer's name is taken in its destination by a file its job did not write: permanent. */
public final class LayerExistsException extends IOException {

    public LayerExistsException(String message) {
        super(message);
    }
}
