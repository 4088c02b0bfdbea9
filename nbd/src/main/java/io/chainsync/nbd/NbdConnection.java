package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.Reply;
import io.chainsync.nbd.protocol.ReplyDecoder;
import io.chainsync.nbd.protocol.RequestHeader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One negotiated NBD connection in transmission phase: callers send requests under a write lock, a
 * reader thread decodes replies ({@link ReplyDecoder} in stream mode) and moves read data straight from
 * the socket into the caller's buffer.
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
    private final SocketChannel channel;
    private final Handshake.Result info;
    private final BiConsumer<NbdConnection, NbdException> onFailure;
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

    NbdConnection(int index, NbdUri uri, SocketChannel channel, Handshake.Result info, int maxInFlight,
            BiConsumer<NbdConnection, NbdException> onFailure) {
        this.index = index;
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
     */
    <T> CompletableFuture<T> submit(PendingRequest<T> request, int flags, int type, long offset, long length,
            ByteBuffer payload) {
        boolean permitted = !(Thread.currentThread() instanceof ReaderThread);
        if (permitted) {
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
        writeLock.lock();
        try {
            ConnectionState current = state;
            if (!current.permitsRequests()) {
                release(request);
                request.future.completeExceptionally(current instanceof ConnectionState.Failed failed
                        ? failed.cause()
                        : new IllegalStateException("cannot send " + NbdConstants.commandName(type)
                                + ": NBD connection is " + current.name()));
                return request.future;
            }
            long cookie = nextCookie++;
            request.header = new RequestHeader(flags, type, cookie, offset, length);
            pending.put(cookie, request);
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
            fail(new NbdException("sending " + NbdConstants.commandName(type) + " to " + uri + " failed: " + e, e));
        } finally {
            writeLock.unlock();
        }
        return request.future;
    }

    private void release(PendingRequest<?> request) {
        if (request.permitted) {
            request.permitted = false;
            permits.release();
        }
    }

    // ------------------------------------------------------------------ receiving

    private void readLoop() {
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
                drain(new NbdException("NBD connection to " + uri + " closed before the reply arrived"));
                return;
            }
            NbdException failure = e instanceof NbdException nbd ? nbd
                    : new NbdException("NBD connection " + index + " to " + uri + " failed: " + e, e);
            fail(failure);
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

    /** Fatal error: close the socket, fail every outstanding request, tell the client. Idempotent. */
    void fail(NbdException cause) {
        boolean first;
        synchronized (this) {
            ConnectionState current = state;
            first = current instanceof ConnectionState.Transmission || current instanceof ConnectionState.Closing;
            if (first) {
                state = new ConnectionState.Failed(cause);
            }
        }
        closeChannel();
        if (first) {
            LOGGER.atWarn().addKeyValue("uri", uri).addKeyValue("connection", index)
                    .addKeyValue("error", cause.getMessage()).log("NBD connection failed");
            LOGGER.atDebug().setCause(cause).log("NBD connection failure");
            // The client must be Failed before any future fails, so that a caller reacting to the
            // failure sees a client that refuses new requests.
            onFailure.accept(this, cause);
        }
        drain(cause);
    }

    private void drain(NbdException cause) {
        writeLock.lock();
        try {
            for (Long cookie : new ArrayList<>(pending.keySet())) {
                PendingRequest<?> request = pending.remove(cookie);
                if (request != null) {
                    release(request);
                    request.future.completeExceptionally(cause);
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
            try {
                reader.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeChannel();
        drain(new NbdException("NBD connection to " + uri + " closed before the reply arrived"));
        synchronized (this) {
            if (!(state instanceof ConnectionState.Closed)) {
                state = state instanceof ConnectionState.Transmission ? new ConnectionState.Closed() : state.closed();
            }
        }
        try {
            reader.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
