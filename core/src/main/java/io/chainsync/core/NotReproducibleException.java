package io.chainsync.core;

/** The layer cannot be reconstructed exactly; the message says why. Never approximate instead. */
public class NotReproducibleException extends RuntimeException {

    public NotReproducibleException(String message) {
        super(message);
    }
}
