package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdConnectionLostException;
import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.NbdTimeoutException;
import io.chainsync.nbd.protocol.Reply;
import io.chainsync.nbd.protocol.ReplyDecoder;
import io.chainsync.nbd.protocol.RequestHeader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One negotiated NBD connection in transmission phase: callers send requests under a write lock, a
 * reader thread decodes replies ({@link ReplyDecoder} in stream mode) and moves read data straight from
 * the connection's {@link Transport} (the socket, or the TLS session over it) into the caller's buffer.
 *
 * <p>Every request has a deadline ({@code requestTimeout}, armed on a shared timer when it is sent). A
 * request still unanswered at its deadline fails the connection with an {@link NbdTimeoutException}:
 * the socket is closed, because a late reply could no longer be matched safely.
 *
 * <p>When the connection fails, its socket is closed at once and the reader thread, woken by the
 * closed socket, fails every outstanding request as its last act. So a request's future never
 * completes while the reader may still be writing into that request's buffer.
 */
final class NbdConnection {

    private static final Logger LOGGER = LoggerFactory.getLogger(NbdConnection.class);
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(256 * 1024).asReadOnlyBuffer();
    private static final int INITIAL_BUFFER = 64 * 1024;

    /** Reader threads are recognised so that callbacks running on them never block on the in-flight bound. */
    static final class ReaderThread extends Thread {
        ReaderThread(Runnable task, String name) {
            super(task, name);
            setDaemon(true);
        }
    }

    private final int index;
    private final NbdUri uri;
    private final Transport channel;
    private final Handshake.Result info;
    private final BiConsumer<NbdConnection, NbdException> onFailure;
    private final Duration requestTimeout;
    private final ScheduledExecutorService timer;
    private final ConcurrentHashMap<Long, PendingRequest<?>> pending = new ConcurrentHashMap<>();
    private final Semaphore permits;
    private final int maxInFlight;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final ByteBuffer requestBuffer = ByteBuffer.allocateDirect(NbdConstants.REQUEST_HEADER_SIZE);
    private final ByteBuffer[] gather = new ByteBuffer[2];
    private final ReplyDecoder decoder;
    private final Thread reader;
    private long nextCookie = 1;
    private volatile ConnectionState state = new ConnectionState.Negotiating();
    private ByteBuffer in = ByteBuffer.allocateDirect(INITIAL_BUFFER).flip();

    /**
     * @param requestTimeout deadline of each request, from the moment it is sent
     * @param timer runs the deadlines (shared; its tasks only close sockets, they never run callbacks)
     */
    NbdConnection(int index, NbdUri uri, Transport channel, Handshake.Result info, int maxInFlight,
            Duration requestTimeout, ScheduledExecutorService timer,
            BiConsumer<NbdConnection, NbdException> onFailure) {
        this.index = index;
        this.requestTimeout = requestTimeout;
        this.timer = timer;
        this.uri = uri;
        this.channel = channel;
        this.info = info;
        this.maxInFlight = maxInFlight;
        this.permits = new Semaphore(maxInFlight);
        this.onFailure = onFailure;
        ReplyDecoder.Limits limits = new ReplyDecoder.Limits(
                Math.max(info.blockSize().maxRequest(), NbdConstants.DEFAULT_MAX_PAYLOAD),
                NbdConstants.MAX_EXTENTS_PER_CHUNK);
        this.decoder = new ReplyDecoder(info.structuredReplies(), this::lookup, info.contexts()::get, limits,
                ReplyDecoder.DataMode.STREAM);
        this.state = ((ConnectionState.Negotiating) state).negotiated();
        this.reader = new ReaderThread(this::readLoop, "nbd-reader-" + index + " " + uri);
        reader.start();
    }

    Handshake.Result info() {
        return info;
    }

    /** "plaintext", or the TLS version and cipher suite. */
    String transport() {
        return channel.describe();
    }

    ConnectionState state() {
        return state;
    }

    /** Free slots under the in-flight bound (for least-loaded selection). */
    int freeSlots() {
        return permits.availablePermits();
    }

    private RequestHeader lookup(long cookie) {
        PendingRequest<?> request = pending.get(cookie);
        return request == null ? null : request.header;
    }

    // ------------------------------------------------------------------ sending

    /**
     * Sends a request. Blocks while the connection has {@code maxInFlight} requests outstanding, unless
     * called on a reader thread (a completion callback), which may exceed the bound rather than deadlock.
     * Never throws: every failure is reported through the returned future, and a connection that is not
     * in transmission fails the request at once.
     */
    <T> CompletableFuture<T> submit(PendingRequest<T> request, int flags, int type, long offset, long length,
            ByteBuffer payload) {
        boolean permitted = !(Thread.currentThread() instanceof ReaderThread);
        if (permitted) {
            if (!state.permitsRequests()) {
                return refuse(request, type, state);
            }
            try {
                permits.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                request.future.completeExceptionally(new InterruptedIOException(
                        "interrupted while waiting to send " + NbdConstants.commandName(type)));
                return request.future;
            }
        }
        request.permitted = permitted;
        if (Thread.currentThread().isInterrupted()) {
            // Writing to the socket now would close it (an interruptible channel) and break the connection.
            release(request);
            request.future.completeExceptionally(new InterruptedIOException(
                    "interrupted before sending " + NbdConstants.commandName(type)));
            return request.future;
        }
        long cookie = 0;
        writeLock.lock();
        try {
            ConnectionState current = state;
            if (!current.permitsRequests()) {
                release(request);
                return refuse(request, type, current);
            }
            cookie = nextCookie++;
            request.header = new RequestHeader(flags, type, cookie, offset, length);
            pending.put(cookie, request);
            request.deadline = timer.schedule(() -> expire(request), requestTimeout.toNanos(),
                    TimeUnit.NANOSECONDS);
            requestBuffer.clear();
            request.header.encode(requestBuffer);
            requestBuffer.flip();
            if (payload == null) {
                while (requestBuffer.hasRemaining()) {
                    channel.write(requestBuffer);
                }
            } else {
                gather[0] = requestBuffer;
                gather[1] = payload;
                try {
                    while (payload.hasRemaining()) {
                        channel.write(gather);
                    }
                } finally {
                    gather[1] = null;
                }
            }
        } catch (IOException | RuntimeException e) {
            String what = "sending " + NbdConstants.commandName(type) + " to " + uri + " failed: " + e;
            NbdException failure = e instanceof IOException ? new NbdConnectionLostException(what, e)
                    : new NbdException(what, e);
            if (pending.get(cookie) != request) {
                // failed before it was published: nobody else will complete it
                release(request);
                request.future.completeExceptionally(failure);
            }
            fail(failure);
        } finally {
            writeLock.unlock();
        }
        return request.future;
    }

    private static <T> CompletableFuture<T> refuse(PendingRequest<T> request, int type, ConnectionState current) {
        request.future.completeExceptionally(current instanceof ConnectionState.Failed failed
                ? failed.cause()
                : new IllegalStateException("cannot send " + NbdConstants.commandName(type)
                        + ": NBD connection is " + current.name()));
        return request.future;
    }

    /** The deadline of a request passed: if it is still unanswered, the connection is broken. */
    private void expire(PendingRequest<?> request) {
        if (request.future.isDone() || pending.get(request.header.cookie()) != request) {
            return;
        }
        fail(new NbdTimeoutException(request.header.describe() + " on " + uri + " (connection " + index
                + ") got no reply within the request timeout of " + describe(requestTimeout)
                + "; the connection is closed because later replies could no longer be matched",
                requestTimeout));
    }

    static String describe(Duration duration) {
        long millis = duration.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    /** Returns the request's permit and disarms its deadline; called once it is out of {@code pending}. */
    private void release(PendingRequest<?> request) {
        ScheduledFuture<?> deadline = request.deadline;
        if (deadline != null) {
            deadline.cancel(false);
        }
        if (request.permitted) {
            request.permitted = false;
            permits.release();
        }
    }

    // ------------------------------------------------------------------ receiving

    private void readLoop() {
        NbdException failure = null;
        try {
            while (true) {
                Reply reply = decoder.decode(in);
                if (reply == null) {
                    fill(decoder.bytesNeeded());
                } else {
                    dispatch(reply);
                }
            }
        } catch (Throwable e) {
            ConnectionState current = state;
            boolean closing = current instanceof ConnectionState.Closing || current instanceof ConnectionState.Closed;
            if (closing && (e instanceof EOFException || e instanceof ClosedChannelException)) {
                LOGGER.atDebug().addKeyValue("uri", uri).addKeyValue("connection", index)
                        .log("NBD reader finished");
                failure = new NbdException("NBD connection to " + uri + " closed before the reply arrived");
            } else {
                if (e instanceof NbdException nbd) {
                    failure = nbd;
                } else if (e instanceof IOException) {
                    failure = new NbdConnectionLostException("NBD connection " + index + " to " + uri + " lost: "
                            + e, e);
                } else {
                    failure = new NbdException("NBD connection " + index + " to " + uri + " failed: " + e, e);
                }
                fail(failure);
            }
        } finally {
            // Last act of the reader: nothing writes into a request's buffer after its future fails.
            drain(failure != null ? failure
                    : new NbdException("NBD connection " + index + " to " + uri + " stopped"));
        }
    }

    /** Reads from the socket until the buffer holds exactly {@code needed} bytes: never past a reply. */
    private void fill(int needed) throws IOException {
        if (needed > in.capacity()) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(needed, 2 * in.capacity()));
            bigger.put(in);
            in = bigger;
        } else {
            in.compact();
        }
        in.limit(needed);
        while (in.hasRemaining()) {
            if (channel.read(in) < 0) {
                throw new EOFException("server " + uri + " closed the connection");
            }
        }
        in.flip();
    }

    /** Moves {@code target.remaining()} bytes of reply data from the stream into {@code target}. */
    private void transfer(ByteBuffer target) throws IOException {
        if (in.hasRemaining()) {
            int n = Math.min(in.remaining(), target.remaining());
            target.put(in.slice(in.position(), n));
            in.position(in.position() + n);
        }
        while (target.hasRemaining()) {
            if (channel.read(target) < 0) {
                throw new EOFException("server " + uri + " closed the connection in the middle of a reply");
            }
        }
    }

    private void dispatch(Reply reply) throws IOException {
        PendingRequest<?> request = pending.get(reply.cookie());
        if (reply instanceof Reply.OffsetData data) {
            PendingRequest.Read read = (PendingRequest.Read) request;
            read.coverage.add(data.offset(), data.dataLength());
            transfer(read.window(data.offset(), data.dataLength()));
            decoder.dataConsumed();
        } else if (reply instanceof Reply.Simple simple) {
            if (simple.error() != 0) {
                request.error(simple.error(), "");
            } else if (simple.dataLength() > 0) {
                PendingRequest.Read read = (PendingRequest.Read) request;
                read.coverage.add(read.header.offset(), simple.dataLength());
                transfer(read.window(read.header.offset(), simple.dataLength()));
                decoder.dataConsumed();
            }
        } else if (reply instanceof Reply.OffsetHole hole) {
            PendingRequest.Read read = (PendingRequest.Read) request;
            read.coverage.add(hole.offset(), hole.holeSize());
            zero(read.window(hole.offset(), (int) hole.holeSize()));
        } else if (reply instanceof Reply.BlockStatus status) {
            ((PendingRequest.Status) request).add(info.contexts().get(status.contextId()), status.extents());
        } else if (reply instanceof Reply.Error error) {
            request.error(error.error(), error.message());
            if (error.error() == NbdConstants.NBD_ESHUTDOWN) {
                LOGGER.atWarn().addKeyValue("uri", uri).log("server is shutting down (NBD_ESHUTDOWN)");
            }
        }
        if (reply.done()) {
            if (pending.remove(reply.cookie(), request)) {
                release(request);
                try {
                    request.finish();
                } catch (NbdProtocolException e) {
                    // Put it back: fail() moves the client to Failed first, then fails it with the rest.
                    pending.put(reply.cookie(), request);
                    throw e;
                }
            }
        }
    }

    private static void zero(ByteBuffer target) {
        while (target.hasRemaining()) {
            int n = Math.min(target.remaining(), ZEROES.capacity());
            target.put(target.position(), ZEROES, 0, n);
            target.position(target.position() + n);
        }
    }

    // ------------------------------------------------------------------ failure and close

    /**
     * Fatal error: close the socket, tell the client, fail every outstanding request. Idempotent; the
     * first cause is the one every request fails with.
     *
     * <p>Outstanding requests are failed by the reader thread when it stops (the closed socket wakes it),
     * or here when called on the reader thread or after it has stopped: never while the reader may
     * still move data into one of their buffers. Called from a sender holding the write lock, this
     * therefore never waits for the lock.
     */
    void fail(NbdException cause) {
        boolean first;
        synchronized (this) {
            ConnectionState current = state;
            first = current instanceof ConnectionState.Transmission || current instanceof ConnectionState.Closing;
            if (first) {
                state = new ConnectionState.Failed(cause);
            }
        }
        if (first) {
            LOGGER.atWarn().addKeyValue("uri", uri).addKeyValue("connection", index)
                    .addKeyValue("error", cause.getMessage()).log("NBD connection failed");
            LOGGER.atDebug().setCause(cause).log("NBD connection failure");
            // The client must be Failed before any future fails, so that a caller reacting to the
            // failure sees a client that refuses new requests: closing the socket wakes the reader,
            // which fails the outstanding requests, so the client is told first.
            onFailure.accept(this, cause);
        }
        closeChannel();
        if (Thread.currentThread() == reader || !reader.isAlive()) {
            drain(cause);
        }
    }

    /** Fails every outstanding request with the connection's failure (if it failed) or {@code cause}. */
    private void drain(NbdException cause) {
        writeLock.lock();
        try {
            ConnectionState current = state;
            NbdException failure = current instanceof ConnectionState.Failed failed ? failed.cause() : cause;
            for (Long cookie : new ArrayList<>(pending.keySet())) {
                PendingRequest<?> request = pending.remove(cookie);
                if (request != null) {
                    release(request);
                    request.future.completeExceptionally(failure);
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    /** Stops accepting requests; returns the futures still outstanding. */
    List<CompletableFuture<?>> beginClose() {
        writeLock.lock();
        try {
            synchronized (this) {
                if (state instanceof ConnectionState.Transmission transmission) {
                    state = transmission.closing();
                }
            }
            List<CompletableFuture<?>> futures = new ArrayList<>();
            pending.values().forEach(request -> futures.add(request.future));
            return futures;
        } finally {
            writeLock.unlock();
        }
    }

    /** Sends {@code NBD_CMD_DISC} (if still healthy), waits briefly for the server to hang up, closes. */
    void disconnect() {
        if (state instanceof ConnectionState.Closing) {
            writeLock.lock();
            try {
                requestBuffer.clear();
                new RequestHeader(0, NbdConstants.NBD_CMD_DISC, nextCookie++, 0, 0).encode(requestBuffer);
                requestBuffer.flip();
                while (requestBuffer.hasRemaining()) {
                    channel.write(requestBuffer);
                }
                channel.shutdownOutput();
            } catch (IOException e) {
                LOGGER.atDebug().addKeyValue("uri", uri).setCause(e).log("NBD_CMD_DISC not sent");
            } finally {
                writeLock.unlock();
            }
            if (Thread.currentThread() != reader) {
                try {
                    reader.join(TimeUnit.SECONDS.toMillis(2));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        closeChannel();
        if (Thread.currentThread() != reader) {
            // the reader fails what is left when it stops; wait for it so that nothing is left behind
            try {
                reader.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        drain(new NbdException("NBD connection to " + uri + " closed before the reply arrived"));
        synchronized (this) {
            if (!(state instanceof ConnectionState.Closed)) {
                state = state instanceof ConnectionState.Transmission ? new ConnectionState.Closed() : state.closed();
            }
        }
    }

    private void closeChannel() {
        try {
            channel.close();
        } catch (IOException e) {
            LOGGER.atDebug().addKeyValue("uri", uri).setCause(e).log("closing NBD socket failed");
        }
    }
}
