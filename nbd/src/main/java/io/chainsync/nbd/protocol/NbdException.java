package io.chainsync.nbd.protocol;

import java.io.IOException;

/** Base class of every NBD failure: negotiation refused, connection lost, protocol or request error. */
public class NbdException extends IOException {

    public NbdException(String message) {
        super(message);
    }

    public NbdException(String message, Throwable cause) {
        super(message, cause);
    }
}
