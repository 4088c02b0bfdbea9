package io.chainsync.nbd.protocol;

/**
 * The connection broke under a request: the server closed it (EOF), the socket failed (reset, broken
 * pipe) or was closed under the reader. The cause, if any, is the socket's exception.
 *
 * <p>Fatal for the client that saw it (every outstanding request fails, further calls fail fast), but
 * <em>transient</em>: a new connection may succeed once the server is back (see
 * {@code io.chainsync.nbd.NbdErrors}).
 */
public class NbdConnectionLostException extends NbdException {

    public NbdConnectionLostException(String message) {
        super(message);
    }

    public NbdConnectionLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
