package io.chainsync.nbd;

import io.chainsync.nbd.protocol.BlockStatusExtent;
import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.NbdRequestException;
import io.chainsync.nbd.protocol.ReadCoverage;
import io.chainsync.nbd.protocol.Reply;
import io.chainsync.nbd.protocol.ReplyDecoder;
import io.chainsync.nbd.protocol.RequestHeader;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One negotiated NBD connection in the transmission phase: requests are written under a lock,
 * replies are read by one reader thread that dispatches them by cookie, so many requests are in
 * flight and may complete out of order. Read data is moved from the socket straight into the
 * caller's buffer ({@link ReplyDecoder.DataMode#STREAM}). A protocol violation or a lost
 * connection fails every outstanding request and the connection for good.
 */
final class NbdConnection {

    private static final Logger LOGGER = LoggerFactory.getLogger(NbdConnection.class);
    private static final int RECEIVE_BUFFER = 256 * 1024;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    /** One outstanding request. */
    private static final class Pending {
        final RequestHeader header;
        final ByteBuffer destination;
        final ReadCoverage coverage;
        final Map<String, List<BlockStatusExtent>> status;
        final CompletableFuture<Object> future = new CompletableFuture<>();
        NbdRequestException error;

        Pending(RequestHeader header, ByteBuffer destination) {
            this.header = header;
            this.destination = destination;
            this.coverage = header.type() == NbdConstants.NBD_CMD_READ
                    ? new ReadCoverage(header.offset(), header.length()) : null;
            this.status = header.type() == NbdConstants.NBD_CMD_BLOCK_STATUS ? new LinkedHashMap<>() : null;
        }
    }

    private final String uri;
    private final SocketChannel channel;
    private final Handshake.Result negotiated;
    private final Semaphore slots;
    private final int maxInFlight;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong cookies = new AtomicLong(1);
    private final Object writeLock = new Object();
    private final ByteBuffer header = ByteBuffer.allocateDirect(NbdConstants.REQUEST_HEADER_SIZE);
    private final Thread reader;
    private volatile ConnectionState state = new ConnectionState.Transmission();

    NbdConnection(String uri, SocketChannel channel, Handshake.Result negotiated, int maxInFlight, int index) {
        this.uri = uri;
        this.channel = channel;
        this.negotiated = negotiated;
        this.maxInFlight = maxInFlight;
        this.slots = new Semaphore(maxInFlight);
        this.reader = new Thread(this::readLoop, "nbd-reader-" + index);
        this.reader.setDaemon(true);
        this.reader.start();
    }

    int inFlight() {
        return maxInFlight - slots.availablePermits();
    }

    ConnectionState state() {
        return state;
    }

    /**
     * Sends one request; blocks while {@code maxInFlight} requests are outstanding.
     *
     * @param destination for READ: where the data goes (exactly {@code length} bytes from its position)
     * @param payload for WRITE: the data (exactly {@code length} bytes)
     */
    CompletableFuture<Object> submit(int type, int flags, long offset, long length, ByteBuffer destination,
                                     ByteBuffer payload) {
        state.require(NbdConstants.commandName(type));
        try {
            slots.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new NbdException("interrupted while waiting to send"));
        }
        long cookie = cookies.getAndIncrement();
        Pending p = new Pending(new RequestHeader(flags, type, cookie, offset, length), destination);
        p.future.whenComplete((v, e) -> slots.release());
        pending.put(cookie, p);
        try {
            synchronized (writeLock) {
                ConnectionState now = state;
                if (now instanceof ConnectionState.Failed failed) {
                    throw failed.cause();
                }
                header.clear();
                p.header.encode(header);
                header.flip();
                writeFully(header);
                if (payload != null) {
                    writeFully(payload.duplicate());
                }
            }
        } catch (IOException e) {
            pending.remove(cookie);
            fail(e instanceof NbdException ne ? ne : new NbdException(uri + ": cannot send request: " + e, e));
            p.future.completeExceptionally(e instanceof NbdException ? e : new NbdException(uri + ": " + e, e));
        }
        return p.future;
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private void readLoop() {
        ReplyDecoder decoder = new ReplyDecoder(negotiated.structuredReplies(),
                cookie -> {
                    Pending p = pending.get(cookie);
                    return p == null ? null : p.header;
                },
                negotiated.contexts()::get, ReplyDecoder.Limits.defaults(), ReplyDecoder.DataMode.STREAM);
        ByteBuffer in = ByteBuffer.allocateDirect(RECEIVE_BUFFER);
        in.flip();
        try {
            while (true) {
                Reply reply = decoder.decode(in);
                if (reply == null) {
                    in = fill(in, decoder.bytesNeeded());
                    continue;
                }
                handle(reply, decoder, in);
            }
        } catch (NbdProtocolException e) {
            fail(new NbdProtocolException(uri + ": " + e.getMessage(), e));
        } catch (ClosedChannelException | EOFException e) {
            if (!(state instanceof ConnectionState.Closing || state instanceof ConnectionState.Closed)
                    || !pending.isEmpty()) {
                fail(new NbdException(uri + ": the server closed the connection"));
            }
        } catch (IOException e) {
            fail(new NbdException(uri + ": connection lost: " + e.getMessage(), e));
        } catch (RuntimeException e) {
            fail(new NbdProtocolException(uri + ": malformed reply: " + e, e));
        }
    }

    /** Reads until the buffer holds at least {@code needed} bytes; grows it when needed (capped by the decoder). */
    private ByteBuffer fill(ByteBuffer in, int needed) throws IOException {
        if (needed > in.capacity()) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(needed, in.capacity() * 2));
            bigger.put(in);
            bigger.flip();
            in = bigger;
        }
        in.compact();
        while (in.position() < needed) {
            if (channel.read(in) < 0) {
                throw new EOFException();
            }
        }
        in.flip();
        return in;
    }

    private void handle(Reply reply, ReplyDecoder decoder, ByteBuffer in) throws IOException {
        Pending p = pending.get(reply.cookie());
        if (p == null) {
            throw new NbdProtocolException("reply for unknown cookie " + reply.cookie());
        }
        if (reply instanceof Reply.Simple simple) {
            if (simple.error() != 0) {
                p.error = new NbdRequestException(p.header.describe(), simple.error(), "");
            } else if (p.header.type() == NbdConstants.NBD_CMD_READ) {
                receiveData(in, p.destination.duplicate(), simple.dataLength());
                decoder.dataConsumed();
                p.coverage.add(p.header.offset(), p.header.length());
            }
        } else if (reply instanceof Reply.OffsetData data) {
            int at = (int) (data.offset() - p.header.offset());
            ByteBuffer target = p.destination.duplicate();
            target.position(target.position() + at);
            receiveData(in, target, data.dataLength());
            decoder.dataConsumed();
            p.coverage.add(data.offset(), data.dataLength());
        } else if (reply instanceof Reply.OffsetHole hole) {
            int at = (int) (hole.offset() - p.header.offset());
            ByteBuffer target = p.destination.duplicate();
            target.position(target.position() + at);
            long left = hole.holeSize();
            while (left > 0) {
                int n = (int) Math.min(left, ZEROES.capacity());
                target.put(ZEROES.duplicate().limit(n));
                left -= n;
            }
            p.coverage.add(hole.offset(), hole.holeSize());
        } else if (reply instanceof Reply.BlockStatus status) {
            String context = negotiated.contexts().get(status.contextId());
            if (p.status.put(context, BlockStatusExtent.merge(status.extents())) != null) {
                throw new NbdProtocolException("two block status chunks for " + context + " in one reply");
            }
        } else if (reply instanceof Reply.Error error) {
            if (p.error == null) {
                p.error = new NbdRequestException(p.header.describe(), error.error(), error.message());
            }
        }
        if (reply.done()) {
            pending.remove(reply.cookie());
            complete(p);
        }
    }

    /** Moves {@code length} bytes of read data: first what is buffered, then straight from the socket. */
    private void receiveData(ByteBuffer in, ByteBuffer target, int length) throws IOException {
        ByteBuffer window = target.slice(target.position(), length);
        int buffered = Math.min(in.remaining(), length);
        if (buffered > 0) {
            ByteBuffer part = in.slice(in.position(), buffered);
            window.put(part);
            in.position(in.position() + buffered);
        }
        while (window.hasRemaining()) {
            if (channel.read(window) < 0) {
                throw new EOFException();
            }
        }
    }

    private void complete(Pending p) throws NbdProtocolException {
        if (p.error != null) {
            p.future.completeExceptionally(p.error);
            return;
        }
        int type = p.header.type();
        if (type == NbdConstants.NBD_CMD_READ) {
            if (!p.coverage.complete()) {
                throw new NbdProtocolException("read reply for " + p.header.describe() + " covered only "
                        + p.coverage.coveredBytes() + " bytes");
            }
            p.future.complete(null);
        } else if (type == NbdConstants.NBD_CMD_BLOCK_STATUS) {
            for (String context : negotiated.contexts().values()) {
                if (!p.status.containsKey(context)) {
                    throw new NbdProtocolException("block status reply for " + p.header.describe()
                            + " lacks context " + context);
                }
            }
            p.future.complete(new BlockStatus(p.header.offset(), p.status));
        } else {
            p.future.complete(null);
        }
    }

    private void fail(NbdException cause) {
        synchronized (this) {
            if (state instanceof ConnectionState.Transmission t) {
                state = t.failed(cause);
            } else if (state instanceof ConnectionState.Closing) {
                state = new ConnectionState.Failed(cause);
            }
        }
        LOGGER.atDebug().setMessage("NBD connection failed").addKeyValue("uri", uri)
                .addKeyValue("reason", cause.getMessage()).log();
        for (Long cookie : new ArrayList<>(pending.keySet())) {
            Pending p = pending.remove(cookie);
            if (p != null) {
                p.future.completeExceptionally(cause);
            }
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    /** Waits for in-flight requests (bounded), sends NBD_CMD_DISC and closes. Idempotent. */
    void close() {
        synchronized (this) {
            if (state instanceof ConnectionState.Closed) {
                return;
            }
            if (state instanceof ConnectionState.Transmission t) {
                state = t.closing();
            }
        }
        try {
            if (slots.tryAcquire(maxInFlight, 30, TimeUnit.SECONDS)) {
                slots.release(maxInFlight);
            }
            if (state instanceof ConnectionState.Closing) {
                synchronized (writeLock) {
                    header.clear();
                    new RequestHeader(0, NbdConstants.NBD_CMD_DISC, cookies.getAndIncrement(), 0, 0).encode(header);
                    header.flip();
                    writeFully(header);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException ignored) {
            // the server may already be gone; closing anyway
        } finally {
            synchronized (this) {
                state = state.closed();
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
            for (Pending p : pending.values()) {
                p.future.completeExceptionally(new NbdException(uri + ": connection closed"));
            }
            pending.clear();
        }
    }
}
