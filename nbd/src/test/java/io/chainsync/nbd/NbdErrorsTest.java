package io.chainsync.nbd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.protocol.NbdConnectionLostException;
import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.NbdRequestException;
import io.chainsync.nbd.protocol.NbdTimeoutException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(10)
class NbdErrorsTest {

    private static NbdRequestException request(int errno) {
        return new NbdRequestException("NBD_CMD_READ offset=0 length=512", errno, "");
    }

    @Test
    void connectionFailuresAreTransient() {
        assertTrue(NbdErrors.isTransient(new NbdConnectionLostException("lost", new IOException("Broken pipe"))));
        assertTrue(NbdErrors.isTransient(new NbdTimeoutException("no reply", Duration.ofSeconds(1))));
        assertTrue(NbdErrors.isTransient(new ConnectException("Connection refused")));
        assertTrue(NbdErrors.isTransient(new SocketException("Connection reset")));
        assertTrue(NbdErrors.isTransient(new SocketTimeoutException("connect timed out")));
        assertTrue(NbdErrors.isTransient(new ClosedChannelException()));
        assertTrue(NbdErrors.isTransient(new AsynchronousCloseException()));
        assertTrue(NbdErrors.isTransient(new EOFException("server closed the connection")));
    }

    @Test
    void causeChainIsWalked() {
        // what NbdClient.connect throws when the server is down
        NbdException cannotConnect = new NbdException("cannot connect to nbd+unix:///?socket=/x",
                new ConnectException("Connection refused"));
        assertTrue(NbdErrors.isTransient(cannotConnect));
        assertTrue(NbdErrors.isTransient(new ExecutionException(new CompletionException(cannotConnect))));
        assertTrue(NbdErrors.isTransient(new UncheckedIOException(new NbdException("handshake",
                new EOFException()))));
        // what a failed client throws for a new request
        assertTrue(NbdErrors.isTransient(new IllegalStateException("cannot read: NBD connection is Failed",
                new NbdConnectionLostException("lost"))));
        assertFalse(NbdErrors.isTransient(new IllegalStateException("cannot read: NBD connection is Failed",
                new NbdProtocolException("bad magic"))));
        // the outermost classified exception decides
        assertFalse(NbdErrors.isTransient(new NbdProtocolException("bad magic", new EOFException())));
        assertTrue(NbdErrors.isTransient(new NbdTimeoutException("handshake", Duration.ofSeconds(1),
                new AsynchronousCloseException())));
    }

    @ParameterizedTest
    @ValueSource(ints = {NbdConstants.NBD_EIO, NbdErrors.EAGAIN, NbdConstants.NBD_ENOMEM, NbdConstants.NBD_ESHUTDOWN})
    void transientServerErrors(int errno) {
        assertTrue(NbdErrors.isTransientErrno(errno));
        assertTrue(NbdErrors.isTransient(request(errno)));
        assertTrue(NbdErrors.isTransient(new CompletionException(request(errno))));
    }

    @ParameterizedTest
    @ValueSource(ints = {NbdConstants.NBD_EPERM, NbdConstants.NBD_EINVAL, NbdConstants.NBD_ENOSPC,
            NbdConstants.NBD_EOVERFLOW, NbdConstants.NBD_ENOTSUP, 0x7fff})
    void permanentServerErrors(int errno) {
        assertFalse(NbdErrors.isTransientErrno(errno));
        assertFalse(NbdErrors.isTransient(request(errno)));
    }

    @Test
    void permanentFailures() {
        assertFalse(NbdErrors.isTransient(new NbdProtocolException("unexpected cookie")));
        assertFalse(NbdErrors.isTransient(new IllegalArgumentException("not an NBD URI")));
        assertFalse(NbdErrors.isTransient(new UnsupportedOperationException("no NBD_CMD_TRIM")));
        // negotiation refusals: export not found, TLS required
        assertFalse(NbdErrors.isTransient(new NbdException("server nbd://h/x refused export 'x': "
                + "NBD_REP_ERR_UNKNOWN")));
        assertFalse(NbdErrors.isTransient(new NbdException("server nbd://h/x refused export 'x': "
                + "NBD_REP_ERR_TLS_REQD")));
        assertFalse(NbdErrors.isTransient(new IllegalStateException("cannot read: NBD connection is Closed")));
        assertFalse(NbdErrors.isTransient(new InterruptedIOException("interrupted while waiting")));
        assertFalse(NbdErrors.isTransient(new IOException("No space left on device")));
        assertFalse(NbdErrors.isTransient(null));
    }

    @Test
    void causeCyclesEnd() {
        IOException a = new IOException("a");
        IOException b = new IOException("b", a);
        a.initCause(b);
        assertFalse(NbdErrors.isTransient(a));
    }
}
