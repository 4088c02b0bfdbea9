package io.chainsync.nbd.protocol;

/**
 * The peer violated the protocol (bad magic, unsolicited cookie, inconsistent length, ...).
 *
 * <p>Fatal: the stream can no longer be framed, so the connection must be closed (a hard disconnect)
 * and every outstanding request fails with this exception. A decoder that threw it stays failed.
 */
public class NbdProtocolException extends NbdException {

    public NbdProtocolException(String message) {
        super(message);
    }

    public NbdProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
