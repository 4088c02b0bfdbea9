package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdConnectionLostException;
import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.NbdRequestException;
import io.chainsync.nbd.protocol.NbdTimeoutException;
import java.io.EOFException;
import java.io.InterruptedIOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Tells failures of {@link NbdClient} worth retrying on a <em>new</em> client from those that will
 * fail again.
 *
 * <p><b>Transient</b> (a new connection may succeed):
 * <ul>
 *   <li>{@link NbdConnectionLostException}: EOF, reset or broken pipe on an established connection</li>
 *   <li>{@link NbdTimeoutException}: a request deadline, or the connect + handshake deadline, passed</li>
 *   <li>socket failures while connecting or transferring: {@link java.net.ConnectException} (refused),
 *       any other {@link SocketException} (reset, no route, Unix socket file missing),
 *       {@link SocketTimeoutException}, {@link ClosedChannelException}, {@link EOFException}</li>
 *   <li>{@link NbdRequestException} with {@code EIO} (5), {@code EAGAIN} (11, not in the NBD
 *       specification but passed through by some servers), {@code ENOMEM} (12) or {@code ESHUTDOWN}
 *       (108, the server is going down)</li>
 * </ul>
 *
 * <p><b>Permanent</b> (retrying will not help):
 * <ul>
 *   <li>{@link NbdProtocolException}: the server violated the protocol</li>
 *   <li>{@link NbdRequestException} with any other error ({@code EPERM}, {@code EINVAL},
 *       {@code ENOSPC}, {@code EOVERFLOW}, {@code ENOTSUP}, ...)</li>
 *   <li>negotiation refusals: export not found, TLS required, STARTTLS refused, no fixed newstyle or
 *       structured replies (plain {@link io.chainsync.nbd.protocol.NbdException} without a transient
 *       cause)</li>
 *   <li>TLS failures: a certificate that does not verify, a refused client certificate or PSK, a TLS
 *       alert, a missing credential file ({@link javax.net.ssl.SSLException} and Bouncy Castle's alerts
 *       are not socket failures)</li>
 *   <li>{@link IllegalArgumentException} (bad URI, request outside the export),
 *       {@link UnsupportedOperationException} (command the export does not offer)</li>
 *   <li>an interruption of the waiting thread ({@link InterruptedIOException} other than a socket
 *       timeout), and a client closed by its owner</li>
 *   <li>anything else</li>
 * </ul>
 *
 * <p>A client whose connection failed refuses further calls with an {@link IllegalStateException}
 * whose cause is the connection's failure; the classification follows that cause.
 */
public final class NbdErrors {

    /** {@code EAGAIN}: not an NBD error value, but some servers pass the host's errno through. */
    static final int EAGAIN = 11;

    private NbdErrors() {
    }

    /**
     * Whether retrying the operation on a new connection may succeed. Walks the cause chain from the
     * outside in; the first exception of a kind listed in the class comment decides, wrappers
     * ({@link java.util.concurrent.CompletionException}, {@link java.util.concurrent.ExecutionException},
     * {@link java.io.UncheckedIOException}, {@link IllegalStateException}, plain
     * {@link io.chainsync.nbd.protocol.NbdException}, ...) are looked through. {@code null} and
     * unclassified chains are permanent.
     */
    public static boolean isTransient(Throwable failure) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof NbdRequestException request) {
                return isTransientErrno(request.error());
            }
            if (t instanceof NbdProtocolException
                    || t instanceof IllegalArgumentException
                    || t instanceof UnsupportedOperationException) {
                return false;
            }
            if (t instanceof NbdTimeoutException
                    || t instanceof NbdConnectionLostException
                    || t instanceof SocketException
                    || t instanceof SocketTimeoutException
                    || t instanceof ClosedChannelException
                    || t instanceof EOFException) {
                return true;
            }
            if (t instanceof InterruptedIOException) {
                return false;
            }
        }
        return false;
    }

    /** Whether an NBD error value is worth a retry on a new connection: EIO, EAGAIN, ENOMEM, ESHUTDOWN. */
    public static boolean isTransientErrno(int error) {
        return error == NbdConstants.NBD_EIO || error == EAGAIN || error == NbdConstants.NBD_ENOMEM
                || error == NbdConstants.NBD_ESHUTDOWN;
    }
}
