package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD client for one export: one or more connections (more only when the server advertises
 * {@code NBD_FLAG_CAN_MULTI_CONN}), many requests in flight on each, requests larger than the
 * server's maximum split. Every command returns a {@link CompletableFuture}; a server error fails
 * it with {@link io.chainsync.nbd.protocol.NbdRequestException} (the connection stays usable), a
 * protocol violation with {@link io.chainsync.nbd.protocol.NbdProtocolException} (the connection
 * is closed).
 */
public final class NbdClient implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(NbdClient.class);

    /**
     * How to connect.
     *
     * @param metaContexts contexts to negotiate with NBD_OPT_SET_META_CONTEXT (empty: none)
     * @param connections the most connections to open (more than one only with multi-conn)
     * @param maxInFlight requests in flight per connection
     * @param connectTimeout how long to wait for the server to accept and negotiate
     */
    public record Options(List<String> metaContexts, int connections, int maxInFlight, Duration connectTimeout) {

        public Options {
            metaContexts = List.copyOf(Objects.requireNonNull(metaContexts, "metaContexts"));
            if (connections < 1 || connections > 64) {
                throw new IllegalArgumentException("connections must be 1..64: " + connections);
            }
            if (maxInFlight < 1 || maxInFlight > 1024) {
                throw new IllegalArgumentException("maxInFlight must be 1..1024: " + maxInFlight);
            }
            if (connectTimeout == null || connectTimeout.isNegative() || connectTimeout.isZero()) {
                throw new IllegalArgumentException("connect timeout must be positive");
            }
        }

        public static Options defaults() {
            return new Options(List.of(), 1, 16, Duration.ofSeconds(30));
        }

        public Options withMetaContexts(List<String> contexts) {
            return new Options(contexts, connections, maxInFlight, connectTimeout);
        }

        public Options withConnections(int n) {
            return new Options(metaContexts, n, maxInFlight, connectTimeout);
        }

        public Options withMaxInFlight(int n) {
            return new Options(metaContexts, connections, n, connectTimeout);
        }

        public Options withConnectTimeout(Duration timeout) {
            return new Options(metaContexts, connections, maxInFlight, timeout);
        }
    }

    private final NbdUri uri;
    private final Handshake.Result negotiated;
    private final List<NbdConnection> connections;
    private final AtomicInteger next = new AtomicInteger();

    private NbdClient(NbdUri uri, Handshake.Result negotiated, List<NbdConnection> connections) {
        this.uri = uri;
        this.negotiated = negotiated;
        this.connections = List.copyOf(connections);
    }

    /** Connects and negotiates; opens further connections when the server allows multi-conn. */
    public static NbdClient connect(NbdUri uri, Options options) throws IOException {
        List<NbdConnection> opened = new ArrayList<>();
        try {
            Opened first = open(uri, options, 0);
            opened.add(first.connection);
            int wanted = (first.result.transmissionFlags() & NbdConstants.NBD_FLAG_CAN_MULTI_CONN) != 0
                    ? options.connections() : 1;
            for (int i = 1; i < wanted; i++) {
                Opened more = open(uri, options, i);
                opened.add(more.connection);
                if (more.result.size() != first.result.size()
                        || !more.result.contexts().equals(first.result.contexts())) {
                    throw new NbdException(uri + ": connections of one export negotiated differently");
                }
            }
            LOGGER.atDebug().setMessage("connected").addKeyValue("uri", uri).addKeyValue("size", first.result.size())
                    .addKeyValue("connections", opened.size())
                    .addKeyValue("contexts", first.result.contexts().values()).log();
            return new NbdClient(uri, first.result, opened);
        } catch (IOException | RuntimeException e) {
            opened.forEach(NbdConnection::close);
            throw e;
        }
    }

    private record Opened(NbdConnection connection, Handshake.Result result) {
    }

    private static Opened open(NbdUri uri, Options options, int index) throws IOException {
        SocketChannel channel = openChannel(uri);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nbd-connect-timeout");
            t.setDaemon(true);
            return t;
        });
        try {
            timer.schedule(() -> {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // the handshake fails with the closed channel
                }
            }, options.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
            Handshake.Result result;
            try {
                channel.connect(uri.address());
                result = new Handshake(channel, uri.toString()).negotiate(uri.exportName(), options.metaContexts());
            } catch (java.nio.channels.ClosedChannelException e) {
                throw new NbdException(uri + ": no answer within " + options.connectTimeout().toSeconds() + " s");
            } catch (java.net.ConnectException | java.nio.file.NoSuchFileException e) {
                throw new NbdException(uri + ": cannot connect: " + e.getMessage(), e);
            } catch (java.net.SocketException e) {
                throw new NbdException(uri + ": cannot connect: " + e.getMessage(), e);
            }
            timer.shutdownNow();
            if (!channel.isOpen()) {
                throw new NbdException(uri + ": no answer within " + options.connectTimeout().toSeconds() + " s");
            }
            return new Opened(new NbdConnection(uri.toString(), channel, result, options.maxInFlight(), index), result);
        } catch (IOException | RuntimeException e) {
            timer.shutdownNow();
            channel.close();
            throw e;
        }
    }

    private static SocketChannel openChannel(NbdUri uri) throws IOException {
        if (uri.isUnix()) {
            return SocketChannel.open(StandardProtocolFamily.UNIX);
        }
        SocketChannel channel = SocketChannel.open();
        channel.socket().setTcpNoDelay(true);
        return channel;
    }

    /** Lists the metadata contexts matching {@code query} (e.g. "qemu:"; empty for all). */
    public static List<String> listMetaContexts(NbdUri uri, String query) throws IOException {
        try (SocketChannel channel = openChannel(uri)) {
            channel.connect(uri.address());
            return new Handshake(channel, uri.toString()).listMetaContexts(uri.exportName(), query);
        }
    }

    public NbdUri uri() {
        return uri;
    }

    public long size() {
        return negotiated.size();
    }

    /** The negotiated metadata contexts. */
    public Set<String> metaContexts() {
        return Set.copyOf(negotiated.contexts().values());
    }

    public int transmissionFlags() {
        return negotiated.transmissionFlags();
    }

    public boolean structuredReplies() {
        return negotiated.structuredReplies();
    }

    private boolean flag(int f) {
        return (negotiated.transmissionFlags() & f) != 0;
    }

    public boolean readOnly() {
        return flag(NbdConstants.NBD_FLAG_READ_ONLY);
    }

    public boolean canFlush() {
        return flag(NbdConstants.NBD_FLAG_SEND_FLUSH);
    }

    public boolean canTrim() {
        return flag(NbdConstants.NBD_FLAG_SEND_TRIM);
    }

    public boolean canWriteZeroes() {
        return flag(NbdConstants.NBD_FLAG_SEND_WRITE_ZEROES);
    }

    public boolean canFastZero() {
        return flag(NbdConstants.NBD_FLAG_SEND_FAST_ZERO);
    }

    public boolean canMultiConn() {
        return flag(NbdConstants.NBD_FLAG_CAN_MULTI_CONN);
    }

    public BlockSize blockSize() {
        return negotiated.blockSize();
    }

    public int connectionCount() {
        return connections.size();
    }

    /** The least loaded connection, ties broken round-robin. */
    private NbdConnection pick() {
        int start = Math.floorMod(next.getAndIncrement(), connections.size());
        NbdConnection best = connections.get(start);
        for (int i = 1; i < connections.size(); i++) {
            NbdConnection c = connections.get((start + i) % connections.size());
            if (c.inFlight() < best.inFlight()) {
                best = c;
            }
        }
        return best;
    }

    private void checkRange(String what, long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > size() || offset + length < offset) {
            throw new IllegalArgumentException(what + " [" + offset + ", " + (offset + length)
                    + ") is outside the export of " + size() + " bytes");
        }
    }

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst} (its position is not moved). */
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        checkRange("read", offset, length);
        int max = blockSize().maxRequest();
        List<CompletableFuture<Object>> parts = new ArrayList<>();
        for (int done = 0; done < length; ) {
            int n = Math.min(max, length - done);
            ByteBuffer slice = dst.slice(dst.position() + done, n);
            parts.add(pick().submit(NbdConstants.NBD_CMD_READ, 0, offset + done, n, slice, null));
            done += n;
        }
        return all(parts);
    }

    /** Writes {@code src.remaining()} bytes at {@code offset}. */
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        int length = src.remaining();
        checkRange("write", offset, length);
        requireWritable("write");
        int max = blockSize().maxRequest();
        List<CompletableFuture<Object>> parts = new ArrayList<>();
        for (int done = 0; done < length; ) {
            int n = Math.min(max, length - done);
            ByteBuffer slice = src.slice(src.position() + done, n);
            parts.add(pick().submit(NbdConstants.NBD_CMD_WRITE, fua ? NbdConstants.NBD_CMD_FLAG_FUA : 0,
                    offset + done, n, null, slice));
            done += n;
        }
        return all(parts);
    }

    /** Writes zeroes; {@code noHole} asks the server to allocate, {@code fastZero} to fail rather than be slow. */
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean noHole, boolean fastZero) {
        checkRange("write zeroes", offset, length);
        requireWritable("write zeroes");
        if (!canWriteZeroes()) {
            throw new UnsupportedOperationException(uri + ": the server does not support WRITE_ZEROES");
        }
        if (fastZero && !canFastZero()) {
            throw new UnsupportedOperationException(uri + ": the server does not support FAST_ZERO");
        }
        int flags = (noHole ? NbdConstants.NBD_CMD_FLAG_NO_HOLE : 0) | (fastZero ? NbdConstants.NBD_CMD_FLAG_FAST_ZERO : 0);
        return splitLength(NbdConstants.NBD_CMD_WRITE_ZEROES, flags, offset, length);
    }

    public CompletableFuture<Void> trim(long offset, long length) {
        checkRange("trim", offset, length);
        requireWritable("trim");
        if (!canTrim()) {
            throw new UnsupportedOperationException(uri + ": the server does not support TRIM");
        }
        return splitLength(NbdConstants.NBD_CMD_TRIM, 0, offset, length);
    }

    /** Flushes every connection (each may have its own cache unless multi-conn says otherwise). */
    public CompletableFuture<Void> flush() {
        if (!canFlush()) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<Object>> parts = new ArrayList<>();
        for (NbdConnection c : connections) {
            parts.add(c.submit(NbdConstants.NBD_CMD_FLUSH, 0, 0, 0, null, null));
        }
        return all(parts);
    }

    /**
     * Block status of {@code [offset, offset + length)} for every negotiated context (length capped
     * at what a request can carry). The server may answer short; callers continue from where each
     * context stopped.
     */
    public CompletableFuture<BlockStatus> blockStatus(long offset, long length, boolean reqOne) {
        if (negotiated.contexts().isEmpty()) {
            throw new IllegalStateException(uri + ": no metadata context was negotiated");
        }
        long n = Math.min(length, 0xFFFF_FFFFL - 0xFFFL);
        checkRange("block status", offset, n);
        return pick().submit(NbdConstants.NBD_CMD_BLOCK_STATUS, reqOne ? NbdConstants.NBD_CMD_FLAG_REQ_ONE : 0,
                offset, n, null, null).thenApply(BlockStatus.class::cast);
    }

    private CompletableFuture<Void> splitLength(int type, int flags, long offset, long length) {
        long max = 0xFFFF_F000L;
        List<CompletableFuture<Object>> parts = new ArrayList<>();
        for (long done = 0; done < length; ) {
            long n = Math.min(max, length - done);
            parts.add(pick().submit(type, flags, offset + done, n, null, null));
            done += n;
        }
        return all(parts);
    }

    private void requireWritable(String what) {
        if (readOnly()) {
            throw new UnsupportedOperationException(uri + ": cannot " + what + ": the export is read-only");
        }
    }

    private static CompletableFuture<Void> all(List<CompletableFuture<Object>> parts) {
        if (parts.size() == 1) {
            return parts.get(0).thenApply(v -> null);
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    /** Blocking read, for simple callers. */
    public void readFully(long offset, ByteBuffer dst) throws IOException {
        await(read(offset, dst));
    }

    /** Waits for a future and unwraps its failure. */
    public static <T> T await(CompletableFuture<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /** Sends NBD_CMD_DISC on every connection after its in-flight requests, then closes. Idempotent. */
    @Override
    public void close() {
        connections.forEach(NbdConnection::close);
    }
}
