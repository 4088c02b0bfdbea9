package io.chainsync.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/**
 * TLS over a blocking {@link SocketChannel} (TCP or Unix domain) with the JDK's {@link SSLEngine}: the
 * JDK does the TLS, this class only moves records between the engine and the socket.
 *
 * <p>One thread reads while others write: the engine allows {@code wrap} and {@code unwrap} to run
 * concurrently. The read side (inbound buffers, {@code unwrap}) is guarded by {@code readLock}, the write
 * side ({@code wrap} plus writing the records) by {@code writeLock}, so records leave in the order the
 * engine produced them. A reader that must answer a post-handshake message (a TLS 1.3 key update, a
 * TLS 1.2 renegotiation) wraps under {@code writeLock}; a writer that finds the engine waiting for the
 * peer during a renegotiation waits for the reader instead of spinning.
 */
final class JsseTransport extends Transport.OverSocket {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SSLEngine engine;
    private final Object readLock = new Object();
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Condition progress = writeLock.newCondition();
    /** Bytes read from the socket and not unwrapped yet; always in read mode (flipped). */
    private ByteBuffer netIn;
    /** Plaintext unwrapped and not consumed yet; always in read mode (flipped). */
    private ByteBuffer appIn;
    /** Records produced by {@code wrap}; used under {@code writeLock}. */
    private ByteBuffer netOut;
    private boolean inboundDone;

    private JsseTransport(SocketChannel socket, SSLEngine engine) {
        super(socket);
        this.engine = engine;
        SSLSession session = engine.getSession();
        this.netIn = ByteBuffer.allocate(session.getPacketBufferSize()).flip();
        this.appIn = ByteBuffer.allocate(session.getApplicationBufferSize()).flip();
        this.netOut = ByteBuffer.allocate(session.getPacketBufferSize());
    }

    /**
     * Runs the TLS handshake (client mode) on a connected blocking socket and returns the session's
     * transport. The engine verifies the server as it was configured to.
     *
     * @throws SSLException if the handshake fails (an alert, a certificate the engine refuses)
     * @throws EOFException if the server closes the connection during the handshake
     */
    static JsseTransport handshake(SocketChannel socket, SSLEngine engine) throws IOException {
        JsseTransport transport = new JsseTransport(socket, engine);
        try {
            transport.runHandshake();
        } catch (SSLException e) {
            transport.sendAlert();
            throw e;
        }
        return transport;
    }

    private void runHandshake() throws IOException {
        engine.beginHandshake();
        while (true) {
            HandshakeStatus status = engine.getHandshakeStatus();
            switch (status) {
                case NEED_WRAP -> {
                    writeLock.lock();
                    try {
                        wrapAndSend(EMPTY_ARRAY, 0, 0);
                    } finally {
                        writeLock.unlock();
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    synchronized (readLock) {
                        if (unwrapOnce() < 0) {
                            throw new EOFException("the server closed the connection during the TLS handshake");
                        }
                    }
                }
                case NEED_TASK -> runTasks();
                case FINISHED, NOT_HANDSHAKING -> {
                    return;
                }
                default -> throw new SSLException("unexpected TLS handshake status " + status);
            }
        }
    }

    private static final ByteBuffer[] EMPTY_ARRAY = {EMPTY};

    /** After a failed handshake: let the engine send its alert, so the server logs why. Best effort. */
    private void sendAlert() {
        writeLock.lock();
        try {
            engine.closeOutbound();
            for (int i = 0; i < 4 && !engine.isOutboundDone(); i++) {
                netOut.clear();
                SSLEngineResult result = engine.wrap(EMPTY, netOut);
                netOut.flip();
                writeFully(netOut);
                if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // the handshake failure is what matters
        } finally {
            writeLock.unlock();
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /**
     * Unwraps one record into {@code appIn} (which must be empty), reading from the socket as needed.
     * Caller holds {@code readLock}.
     *
     * @return bytes of plaintext produced (possibly 0: a handshake or post-handshake message), or -1 at
     *     the end of the stream (EOF, or the server's {@code close_notify})
     */
    private int unwrapOnce() throws IOException {
        while (true) {
            if (netIn.hasRemaining()) {
                appIn.clear();
                SSLEngineResult result;
                try {
                    result = engine.unwrap(netIn, appIn);
                } finally {
                    appIn.flip();
                }
                switch (result.getStatus()) {
                    case OK -> {
                        afterUnwrap(result.getHandshakeStatus());
                        return result.bytesProduced();
                    }
                    case CLOSED -> {
                        inboundDone = true;
                        afterUnwrap(result.getHandshakeStatus());
                        return result.bytesProduced() > 0 ? result.bytesProduced() : -1;
                    }
                    case BUFFER_OVERFLOW -> {
                        appIn = ByteBuffer.allocate(Math.max(2 * appIn.capacity(),
                                engine.getSession().getApplicationBufferSize())).flip();
                        continue;
                    }
                    case BUFFER_UNDERFLOW -> {
                        // a partial record: read more below
                    }
                    default -> throw new SSLException("unexpected TLS unwrap status " + result.getStatus());
                }
            }
            netIn.compact();
            if (!netIn.hasRemaining()) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(2 * netIn.capacity(),
                        engine.getSession().getPacketBufferSize()));
                netIn.flip();
                bigger.put(netIn);
                netIn = bigger;
            }
            int n;
            try {
                n = socket.read(netIn);
            } finally {
                netIn.flip();
            }
            if (n < 0) {
                return -1;
            }
        }
    }

    /** What a post-handshake message asks of the client: run tasks, answer (a key update), wake writers. */
    private void afterUnwrap(HandshakeStatus status) throws IOException {
        if (status == HandshakeStatus.NEED_TASK) {
            runTasks();
            status = engine.getHandshakeStatus();
        }
        if (status == HandshakeStatus.NEED_WRAP) {
            writeLock.lock();
            try {
                while (engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP) {
                    if (wrapAndSend(EMPTY_ARRAY, 0, 0) == 0 && netOut.limit() == 0) {
                        break;
                    }
                }
            } finally {
                writeLock.unlock();
            }
        }
        if (writeLock.tryLock()) {
            try {
                progress.signalAll();
            } finally {
                writeLock.unlock();
            }
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        synchronized (readLock) {
            while (!appIn.hasRemaining()) {
                if (inboundDone) {
                    return -1;
                }
                if (unwrapOnce() < 0) {
                    return -1;
                }
            }
            int n = Math.min(appIn.remaining(), dst.remaining());
            dst.put(dst.position(), appIn, appIn.position(), n);
            dst.position(dst.position() + n);
            appIn.position(appIn.position() + n);
            return n;
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        writeLock.lock();
        try {
            long total = 0;
            while (remaining(srcs, offset, length)) {
                total += wrapAndSend(srcs, offset, length);
            }
            return total;
        } finally {
            writeLock.unlock();
        }
    }

    private static boolean remaining(ByteBuffer[] srcs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (srcs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Wraps once and writes the record(s) produced. Caller holds {@code writeLock}.
     *
     * @return plaintext bytes consumed
     */
    private long wrapAndSend(ByteBuffer[] srcs, int offset, int length) throws IOException {
        while (true) {
            netOut.clear();
            SSLEngineResult result;
            try {
                result = engine.wrap(srcs, offset, length, netOut);
            } finally {
                netOut.flip();
            }
            switch (result.getStatus()) {
                case OK -> {
                    writeFully(netOut);
                    HandshakeStatus status = result.getHandshakeStatus();
                    if (status == HandshakeStatus.NEED_TASK) {
                        runTasks();
                    } else if (status == HandshakeStatus.NEED_UNWRAP && result.bytesConsumed() == 0
                            && result.bytesProduced() == 0 && remaining(srcs, offset, length)) {
                        awaitReader();
                    }
                    return result.bytesConsumed();
                }
                case BUFFER_OVERFLOW -> netOut = ByteBuffer.allocate(Math.max(2 * netOut.capacity(),
                        engine.getSession().getPacketBufferSize()));
                case CLOSED -> {
                    writeFully(netOut);
                    if (remaining(srcs, offset, length)) {
                        throw new ClosedChannelException();
                    }
                    return result.bytesConsumed();
                }
                default -> throw new SSLException("unexpected TLS wrap status " + result.getStatus());
            }
        }
    }

    /** A renegotiation waits for the server's records, which only the reader thread takes in. */
    private void awaitReader() throws IOException {
        if (!socket.isOpen()) {
            throw new ClosedChannelException();
        }
        try {
            progress.await(10, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while TLS renegotiates");
        }
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            socket.write(buffer);
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        writeLock.lock();
        try {
            engine.closeOutbound();
            while (!engine.isOutboundDone()) {
                netOut.clear();
                SSLEngineResult result = engine.wrap(EMPTY, netOut);
                netOut.flip();
                writeFully(netOut);
                if (result.getStatus() == SSLEngineResult.Status.CLOSED || result.bytesProduced() == 0) {
                    break;
                }
            }
            socket.shutdownOutput();
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public String describe() {
        SSLSession session = engine.getSession();
        return session.getProtocol() + " " + session.getCipherSuite();
    }

}
