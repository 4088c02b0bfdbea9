package io.chainsync.nbd.protocol;

import java.time.Duration;

/**
 * A deadline passed: a request got no complete reply within the client's request timeout, or
 * connecting plus the handshake took longer than the connect timeout.
 *
 * <p>A request that timed out leaves its connection unusable (a late reply could no longer be told
 * apart from the reply to another request), so the connection is closed and every request still
 * outstanding on the client fails with this exception. <em>Transient</em>: a new connection may
 * succeed (see {@code io.chainsync.nbd.NbdErrors}).
 */
public class NbdTimeoutException extends NbdException {

    private final Duration timeout;

    /**
     * @param message names the export (URI), the operation and the deadline
     * @param timeout the deadline that passed
     */
    public NbdTimeoutException(String message, Duration timeout) {
        super(message);
        this.timeout = timeout;
    }

    public NbdTimeoutException(String message, Duration timeout, Throwable cause) {
        super(message, cause);
        this.timeout = timeout;
    }

    /** The deadline that passed. */
    public Duration timeout() {
        return timeout;
    }
}
