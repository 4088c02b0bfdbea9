package io.chainsync.nbd;

import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_BLOCK_STATUS;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_FLAG_FAST_ZERO;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_FLAG_FUA;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_FLAG_NO_HOLE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_FLAG_REQ_ONE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_FLUSH;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_READ;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_TRIM;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_WRITE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_WRITE_ZEROES;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_CAN_MULTI_CONN;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_READ_ONLY;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_SEND_FAST_ZERO;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_SEND_FLUSH;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_SEND_FUA;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_SEND_TRIM;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_SEND_WRITE_ZEROES;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_OPT_SET_META_CONTEXT;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.NbdTimeoutException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD client over one or more connections to one export.
 *
 * <p>Requests are asynchronous and pipelined: each connection has up to {@code maxInFlight} requests
 * outstanding (callers block when the bound is reached; callbacks running on a reader thread never
 * block), and requests go to the least loaded connection. Replies may arrive in any order; a reader
 * thread per connection completes the futures, so dependent stages attached with {@code thenRun} etc.
 * run on it: keep them short, or use the {@code *Async} variants.
 *
 * <p>Requests are sent on the calling thread. A thread interrupted before it sends gets a future failed
 * with an {@link InterruptedIOException}; one interrupted while its request is being written closes the
 * socket (the JDK's interruptible channels do), which breaks the connection like any other socket error.
 *
 * <p>Buffers passed to {@link #read} and {@link #write} are used between their position and limit,
 * which are not modified; the caller must not touch their content until the future completes. Direct
 * buffers avoid a copy inside the JDK's socket I/O.
 *
 * <p><b>Deadlines.</b> Connecting plus the handshake of each connection must finish within
 * {@link Options#connectTimeout()}, else {@link #connect} throws an
 * {@link io.chainsync.nbd.protocol.NbdTimeoutException}. Every request must be answered within
 * {@link Options#requestTimeout()} from the moment it is sent; otherwise it fails with an
 * {@link io.chainsync.nbd.protocol.NbdTimeoutException} naming the URI, the command, offset, length and
 * deadline, and its connection is treated as broken (below), because a late reply could no longer be
 * matched safely. The deadlines run on one shared daemon timer thread.
 *
 * <p><b>Failures.</b> A connection that breaks, whatever the reason (EOF or reset:
 * {@link io.chainsync.nbd.protocol.NbdConnectionLostException}; a deadline:
 * {@link io.chainsync.nbd.protocol.NbdTimeoutException}; a protocol violation:
 * {@link io.chainsync.nbd.protocol.NbdProtocolException}), is fatal for the client: the client moves to
 * {@link ConnectionState.Failed}, every connection is closed and every outstanding request fails with
 * that first cause. From then on every command method fails fast: it throws an
 * {@link IllegalStateException} whose cause is that failure (a request racing with the failure gets a
 * future failed with it); nothing blocks and nothing is sent. A new client is needed to go on. A request
 * the server fails ({@link io.chainsync.nbd.protocol.NbdRequestException}) leaves the client usable.
 *
 * <p>Which failures are worth retrying on a new client: {@link NbdErrors#isTransient(Throwable)}.
 * <em>Transient</em>: connection lost or refused, deadline passed, the server's {@code EIO},
 * {@code EAGAIN}, {@code ENOMEM}, {@code ESHUTDOWN}. <em>Permanent</em>: protocol violation, export not
 * found or refused, TLS required, bad URI or arguments, the server's other errors.
 */
public final class NbdClient implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(NbdClient.class);

    /** Split TRIM and WRITE_ZEROES (which carry no payload) into requests of at most this length. */
    static final long MAX_EFFECT_LENGTH = 1L << 30;
    /** How long {@link #close()} waits for in-flight requests before failing them. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(60);

    /** Default of {@link Options#requestTimeout()}. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);

    /**
     * Reads to keep outstanding at one source, over all its connections, when moving bulk data:
     * qemu-nbd serves up to 16 requests of a client at a time, each on a worker thread of its own,
     * and more outstanding only add workers contending for the same CPUs. On the 2 vCPU benchmark
     * machine, 32 or 64 outstanding reads cost qemu-nbd 2 to 2.5 times the CPU time of 16 for the
     * same bytes, and made both {@code copy} and {@code verify} slower (docs/benchmarks.md).
     */
    public static final int QUEUE_DEPTH = 16;

    /**
     * Deadlines of every client in the JVM: connect + handshake watchdogs and request deadlines. Its
     * tasks only close sockets; callbacks never run on it.
     */
    private static final class Timer {
        static final ScheduledExecutorService INSTANCE = create();

        private static ScheduledExecutorService create() {
            ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, task -> {
                Thread thread = new Thread(task, "nbd-timer");
                thread.setDaemon(true);
                return thread;
            });
            timer.setRemoveOnCancelPolicy(true); // most deadlines are cancelled long before they are due
            return timer;
        }
    }

    /**
     * Connection options.
     *
     * @param metaContexts metadata contexts to select with {@code NBD_OPT_SET_META_CONTEXT} (empty: none);
     *     each must start with a namespace and a colon, e.g. {@code "base:allocation"}
     * @param connections maximum number of connections; more than one is opened only when the server
     *     advertises {@code NBD_FLAG_CAN_MULTI_CONN}
     * @param maxInFlight maximum outstanding requests per connection
     * @param connectTimeout bound on connecting plus the handshake of each connection
     * @param requestTimeout bound on the reply to each request, from the moment it is sent (waiting for
     *     a slot under {@code maxInFlight} is not counted); a request that misses it fails with an
     *     {@link io.chainsync.nbd.protocol.NbdTimeoutException} and breaks its connection
     */
    public record Options(List<String> metaContexts, int connections, int maxInFlight, Duration connectTimeout,
            Duration requestTimeout) {

        public Options {
            metaContexts = List.copyOf(metaContexts);
            Set<String> seen = new HashSet<>();
            for (String context : metaContexts) {
                if (context.isEmpty() || context.indexOf(':') <= 0) {
                    throw new IllegalArgumentException("metadata context query must start with a namespace and "
                            + "a colon, e.g. base:allocation: '" + context + "'");
                }
                if (context.getBytes(StandardCharsets.UTF_8).length > NbdConstants.NBD_MAX_STRING) {
                    throw new IllegalArgumentException("metadata context query longer than 4096 bytes");
                }
                if (!seen.add(context)) {
                    throw new IllegalArgumentException("metadata context listed twice: " + context);
                }
            }
            if (connections < 1 || connections > 64) {
                throw new IllegalArgumentException("connections must be in [1, 64]: " + connections);
            }
            if (maxInFlight < 1 || maxInFlight > 4096) {
                throw new IllegalArgumentException("maxInFlight must be in [1, 4096]: " + maxInFlight);
            }
            if (connectTimeout == null || connectTimeout.isNegative() || connectTimeout.isZero()) {
                throw new IllegalArgumentException("connectTimeout must be positive: " + connectTimeout);
            }
            if (requestTimeout == null || requestTimeout.isNegative() || requestTimeout.isZero()) {
                throw new IllegalArgumentException("requestTimeout must be positive: " + requestTimeout);
            }
        }

        /** The options without a request timeout of their own: {@link NbdClient#DEFAULT_REQUEST_TIMEOUT}. */
        public Options(List<String> metaContexts, int connections, int maxInFlight, Duration connectTimeout) {
            this(metaContexts, connections, maxInFlight, connectTimeout, DEFAULT_REQUEST_TIMEOUT);
        }

        /**
         * No metadata contexts, one connection, 16 requests in flight, 10 s connect timeout, 60 s request
         * timeout.
         */
        public static Options defaults() {
            return new Options(List.of(), 1, 16, Duration.ofSeconds(10), DEFAULT_REQUEST_TIMEOUT);
        }

        public Options withMetaContexts(List<String> contexts) {
            return new Options(contexts, connections, maxInFlight, connectTimeout, requestTimeout);
        }

        public Options withMetaContexts(String... contexts) {
            return withMetaContexts(List.of(contexts));
        }

        public Options withConnections(int count) {
            return new Options(metaContexts, count, maxInFlight, connectTimeout, requestTimeout);
        }

        public Options withMaxInFlight(int count) {
            return new Options(metaContexts, connections, count, connectTimeout, requestTimeout);
        }

        public Options withConnectTimeout(Duration timeout) {
            return new Options(metaContexts, connections, maxInFlight, timeout, requestTimeout);
        }

        /** Deadline of each request; see {@link #requestTimeout()}. */
        public Options withRequestTimeout(Duration timeout) {
            return new Options(metaContexts, connections, maxInFlight, connectTimeout, timeout);
        }
    }

    private final NbdUri uri;
    private final Handshake.Result info;
    private final Set<String> metaContexts;
    private final List<NbdConnection> connections = new ArrayList<>();
    private final AtomicInteger roundRobin = new AtomicInteger();
    private final Object closeLock = new Object();
    private volatile ConnectionState state = new ConnectionState.Transmission();

    private NbdClient(NbdUri uri, Handshake.Result info) {
        this.uri = uri;
        this.info = info;
        this.metaContexts = Set.copyOf(new LinkedHashSet<>(info.contexts().values()));
    }

    // ------------------------------------------------------------------ connect

    /**
     * Connects and negotiates (fixed newstyle, structured replies, metadata contexts, {@code NBD_OPT_GO}).
     * Each connection must connect and negotiate within {@link Options#connectTimeout()}.
     *
     * @throws io.chainsync.nbd.protocol.NbdTimeoutException if a connection did not finish in time
     * @throws IOException if the server cannot be reached or refuses; the message names the URI
     */
    public static NbdClient connect(NbdUri uri, Options options) throws IOException {
        Opened first = withinDeadline(uri, options.connectTimeout(), handshake -> negotiate(uri, handshake, options));
        NbdClient client = new NbdClient(uri, first.result());
        client.connections.add(client.connection(0, first, options));
        int wanted = (first.result().transmissionFlags() & NBD_FLAG_CAN_MULTI_CONN) != 0 ? options.connections() : 1;
        try {
            for (int i = 1; i < wanted; i++) {
                Opened more = withinDeadline(uri, options.connectTimeout(), handshake -> negotiate(uri, handshake, options));
                Handshake.Result result = more.result();
                if (result.size() != first.result().size()
                        || result.transmissionFlags() != first.result().transmissionFlags()
                        || !result.blockSize().equals(first.result().blockSize())
                        || !Set.copyOf(result.contexts().values()).equals(client.metaContexts)) {
                    closeQuietly(more.transport());
                    throw new NbdException("connection " + i + " to " + uri
                            + " negotiated a different export than the first connection");
                }
                client.connections.add(client.connection(i, more, options));
            }
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
        LOGGER.atDebug().addKeyValue("uri", uri).addKeyValue("size", first.result().size())
                .addKeyValue("flags", Integer.toHexString(first.result().transmissionFlags()))
                .addKeyValue("blockSize", first.result().blockSize()).addKeyValue("metaContexts", client.metaContexts)
                .addKeyValue("connections", client.connections.size()).addKeyValue("transport", client.transport())
                .log("NBD client connected");
        return client;
    }

    private NbdConnection connection(int index, Opened opened, Options options) {
        return new NbdConnection(index, uri, opened.transport(), opened.result(), options.maxInFlight(),
                options.requestTimeout(), Timer.INSTANCE, this::onFailure);
    }

    /** A connection (plaintext or TLS) in transmission phase and what its handshake settled. */
    private record Opened(Transport transport, Handshake.Result result) {
    }

    /**
     * Lists the metadata contexts the server offers for the URI's export ({@code NBD_OPT_LIST_META_CONTEXT}).
     * Connecting plus the exchange are bounded by the default connect timeout.
     *
     * @param query e.g. {@code "qemu:"} or {@code "base:"}; empty lists all
     */
    public static List<String> listMetaContexts(NbdUri uri, String query) throws IOException {
        return withinDeadline(uri, Options.defaults().connectTimeout(), handshake -> {
            try {
                handshake.start();
                if (!handshake.structuredReplies()) {
                    throw new NbdException("server " + uri + " does not support structured replies, so it has no "
                            + "metadata contexts");
                }
                List<String> names = handshake.listMetaContexts(uri.exportName(),
                        query.isEmpty() ? List.of() : List.of(query));
                handshake.abort();
                return names;
            } finally {
                closeQuietly(handshake.socket());
            }
        });
    }

    /** Work on a freshly connected socket, through the handshake that will read its greeting. */
    @FunctionalInterface
    private interface ChannelTask<T> {
        T run(Handshake handshake) throws IOException;
    }

    /**
     * Opens a socket to the URI, connects it and runs {@code task} on it, all within {@code timeout}: a
     * watchdog on the shared timer closes the socket when the deadline passes, which wakes any blocking
     * connect, read or write. On failure the socket is closed.
     *
     * @throws io.chainsync.nbd.protocol.NbdTimeoutException if the deadline passed
     */
    private static <T> T withinDeadline(NbdUri uri, Duration timeout, ChannelTask<T> task) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        SocketChannel channel;
        try {
            channel = uri.isUnix() ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        } catch (IOException | RuntimeException e) {
            throw new NbdException("cannot connect to " + uri + ": " + describe(e), e);
        }
        // Whoever flips this first decides: the watchdog (the deadline passed, the socket is closed) or
        // this thread (finished in time, the watchdog must not touch the socket any more).
        AtomicBoolean decided = new AtomicBoolean();
        ScheduledFuture<?> watchdog = Timer.INSTANCE.schedule(() -> {
            if (decided.compareAndSet(false, true)) {
                closeQuietly(channel);
            }
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        T result;
        Handshake handshake = null;
        try {
            connect(uri, channel, deadline);
            handshake = new Handshake(channel, uri);
            result = task.run(handshake);
        } catch (IOException | RuntimeException e) {
            boolean expired = !decided.compareAndSet(false, true);
            watchdog.cancel(false);
            closeQuietly(channel);
            if (expired) {
                throw timedOut(uri, timeout, e, handshake);
            }
            throw e;
        }
        if (!decided.compareAndSet(false, true)) {
            // the deadline passed just as the handshake finished: the socket is closed
            closeQuietly(channel);
            throw timedOut(uri, timeout, null, handshake);
        }
        watchdog.cancel(false);
        return result;
    }

    private static void connect(NbdUri uri, SocketChannel channel, long deadline) throws IOException {
        try {
            if (uri.isUnix()) {
                channel.connect(uri.address());
            } else {
                long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                channel.socket().connect(uri.address(), (int) Math.min(Integer.MAX_VALUE, millis));
                channel.socket().setTcpNoDelay(true);
            }
        } catch (IOException | RuntimeException e) {
            throw new NbdException("cannot connect to " + uri + ": " + describe(e), e);
        }
    }

    private static String describe(Exception e) {
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + message;
    }

    private static Opened negotiate(NbdUri uri, Handshake handshake, Options options) throws IOException {
        handshake.start();
        boolean structured = handshake.structuredReplies();
        Map<Integer, String> contexts = Map.of();
        if (!options.metaContexts().isEmpty()) {
            if (!structured) {
                throw new NbdException("server " + uri + " does not support structured replies, which "
                        + "metadata contexts " + options.metaContexts() + " need");
            }
            contexts = handshake.metaContexts(NBD_OPT_SET_META_CONTEXT, uri.exportName(), options.metaContexts());
        }
        return new Opened(handshake.transport(), handshake.go(uri.exportName(), structured, contexts));
    }

    /**
     * The connect timeout, told by how far the connection got: not connected; connected but no
     * greeting, which is how a server that serves a limited number of clients at once (qemu-nbd
     * without {@code --shared}) leaves the others waiting; or greeted, but the negotiation unfinished.
     */
    private static NbdTimeoutException timedOut(NbdUri uri, Duration timeout, Exception cause, Handshake handshake) {
        String within = " within the connect timeout of " + NbdConnection.describe(timeout);
        String message;
        if (handshake == null) {
            message = "connecting to " + uri + " did not finish" + within;
        } else if (!handshake.greeted()) {
            message = uri + " accepted the connection but sent no NBD greeting" + within + ": a server that "
                    + "serves a limited number of clients at once keeps the others waiting (qemu-nbd serves one "
                    + "unless started with --shared=N; the scanner and each copier connect at the same time)";
        } else {
            message = "connecting to " + uri + " and negotiating did not finish" + within;
        }
        return new NbdTimeoutException(message, timeout, cause);
    }

    private static void closeQuietly(java.nio.channels.Channel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOGGER.atDebug().setCause(e).log("closing socket failed");
        }
    }

    // ------------------------------------------------------------------ accessors

    public NbdUri uri() {
        return uri;
    }

    /** Export size in bytes. */
    public long size() {
        return info.size();
    }

    /**
     * How the bytes travel: {@code "plaintext"}, or the TLS version and cipher suite of the first
     * connection, e.g. {@code "TLSv1.3 TLS_AES_256_GCM_SHA384"}.
     */
    public String transport() {
        return connections.get(0).transport();
    }

    /** Names of the negotiated metadata contexts (those the server accepted). */
    public Set<String> metaContexts() {
        return metaContexts;
    }

    /** Transmission flags ({@code NBD_FLAG_*}). */
    public int transmissionFlags() {
        return info.transmissionFlags();
    }

    public boolean structuredReplies() {
        return info.structuredReplies();
    }

    public boolean readOnly() {
        return has(NBD_FLAG_READ_ONLY);
    }

    public boolean canFlush() {
        return has(NBD_FLAG_SEND_FLUSH);
    }

    public boolean canFua() {
        return has(NBD_FLAG_SEND_FUA);
    }

    public boolean canTrim() {
        return has(NBD_FLAG_SEND_TRIM);
    }

    public boolean canWriteZeroes() {
        return has(NBD_FLAG_SEND_WRITE_ZEROES);
    }

    public boolean canFastZero() {
        return has(NBD_FLAG_SEND_FAST_ZERO);
    }

    public boolean canMultiConn() {
        return has(NBD_FLAG_CAN_MULTI_CONN);
    }

    public BlockSize blockSize() {
        return info.blockSize();
    }

    /** Number of connections opened. */
    public int connectionCount() {
        return connections.size();
    }

    /** The client's state ({@link ConnectionState.Transmission} while usable). */
    public ConnectionState state() {
        return state;
    }

    private boolean has(int flag) {
        return (info.transmissionFlags() & flag) != 0;
    }

    // ------------------------------------------------------------------ commands

    /**
     * Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst} (position and limit untouched),
     * split into requests of at most {@link BlockSize#maxRequest()}. The future fails with the request's
     * failure (see the class comment); it completes only once no part of the read uses {@code dst} any more.
     *
     * @throws IllegalStateException at once if the client failed (its cause is the failure) or was closed
     */
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        state.require("read");
        int length = dst.remaining();
        checkRange("read", offset, length);
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        int max = blockSize().maxRequest();
        int base = dst.position();
        if (length <= max) {
            return submitRead(offset, dst.slice(base, length));
        }
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int done = 0; done < length; done += max) {
            int n = Math.min(max, length - done);
            int at = done;
            if (!addPart(parts, () -> submitRead(offset + at, dst.slice(base + at, n)))) {
                break;
            }
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    /**
     * Adds the future of one part of a split command. A part that throws becomes a failed future and
     * ends the split (returns false): the combined future then fails, but only once the parts already
     * sent have completed, so that the caller's buffer is not released while the server still uses it.
     */
    private static boolean addPart(List<CompletableFuture<Void>> parts,
            Supplier<CompletableFuture<Void>> part) {
        try {
            parts.add(part.get());
            return true;
        } catch (RuntimeException | Error e) {
            parts.add(CompletableFuture.failedFuture(e));
            return false;
        }
    }

    private CompletableFuture<Void> submitRead(long offset, ByteBuffer slice) {
        PendingRequest.Read request = new PendingRequest.Read(slice, offset);
        return pick().submit(request, 0, NBD_CMD_READ, offset, slice.capacity(), null);
    }

    /** Blocking {@link #read}: returns when {@code dst}'s remaining bytes are filled. */
    public void readFully(long offset, ByteBuffer dst) throws IOException {
        await(read(offset, dst));
    }

    /**
     * Writes {@code src.remaining()} bytes at {@code offset} (position and limit untouched), split into
     * requests of at most {@link BlockSize#maxRequest()}.
     *
     * @param fua force unit access (needs {@link #canFua()})
     */
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        state.require("write");
        requireWritable("write");
        if (fua && !canFua()) {
            throw new UnsupportedOperationException(uri + " does not support FUA (NBD_FLAG_SEND_FUA not set)");
        }
        int length = src.remaining();
        checkRange("write", offset, length);
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        int flags = fua ? NBD_CMD_FLAG_FUA : 0;
        int max = blockSize().maxRequest();
        int base = src.position();
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int done = 0; done < length; done += max) {
            int n = Math.min(max, length - done);
            ByteBuffer slice = src.slice(base + done, n);
            long at = offset + done;
            if (!addPart(parts, () -> pick().submit(new PendingRequest.Command(), flags, NBD_CMD_WRITE, at, n,
                    slice))) {
                break;
            }
        }
        return parts.size() == 1 ? parts.get(0) : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    /**
     * Writes zeroes ({@code NBD_CMD_WRITE_ZEROES}), split into requests of at most 1 GiB.
     *
     * @param noHole {@code NBD_CMD_FLAG_NO_HOLE}: the server must allocate rather than punch a hole
     * @param fastZero {@code NBD_CMD_FLAG_FAST_ZERO}: fail with ENOTSUP rather than write slowly (needs
     *     {@link #canFastZero()})
     */
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean noHole, boolean fastZero) {
        state.require("write zeroes");
        requireWritable("write zeroes");
        if (!canWriteZeroes()) {
            throw new UnsupportedOperationException(uri + " does not support NBD_CMD_WRITE_ZEROES");
        }
        if (fastZero && !canFastZero()) {
            throw new UnsupportedOperationException(uri + " does not support fast zero (NBD_FLAG_SEND_FAST_ZERO "
                    + "not set)");
        }
        int flags = (noHole ? NBD_CMD_FLAG_NO_HOLE : 0) | (fastZero ? NBD_CMD_FLAG_FAST_ZERO : 0);
        return effect("write zeroes", NBD_CMD_WRITE_ZEROES, flags, offset, length);
    }

    /** Discards ({@code NBD_CMD_TRIM}), split into requests of at most 1 GiB. */
    public CompletableFuture<Void> trim(long offset, long length) {
        state.require("trim");
        requireWritable("trim");
        if (!canTrim()) {
            throw new UnsupportedOperationException(uri + " does not support NBD_CMD_TRIM");
        }
        return effect("trim", NBD_CMD_TRIM, 0, offset, length);
    }

    private CompletableFuture<Void> effect(String operation, int command, int flags, long offset, long length) {
        checkRange(operation, offset, length);
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (long done = 0; done < length; done += MAX_EFFECT_LENGTH) {
            long n = Math.min(MAX_EFFECT_LENGTH, length - done);
            long at = offset + done;
            if (!addPart(parts, () -> pick().submit(new PendingRequest.Command(), flags, command, at, n, null))) {
                break;
            }
        }
        return parts.size() == 1 ? parts.get(0) : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    /**
     * {@code NBD_CMD_FLUSH}. It covers the writes whose replies arrived before it was sent: wait for the
     * write futures first.
     */
    public CompletableFuture<Void> flush() {
        state.require("flush");
        if (!canFlush()) {
            throw new UnsupportedOperationException(uri + " does not support NBD_CMD_FLUSH");
        }
        return pick().submit(new PendingRequest.Command(), 0, NBD_CMD_FLUSH, 0, 0, null);
    }

    /**
     * {@code NBD_CMD_BLOCK_STATUS} for every negotiated context. The length is clipped to the export end
     * and to what one request can carry (just under 4 GiB); the reply may cover less (ask again from
     * where it ended) and its last extent may reach beyond.
     *
     * @param reqOne {@code NBD_CMD_FLAG_REQ_ONE}: one extent per context
     */
    public CompletableFuture<BlockStatus> blockStatus(long offset, long length, boolean reqOne) {
        state.require("query block status");
        if (metaContexts.isEmpty()) {
            throw new IllegalStateException("cannot query block status of " + uri
                    + ": no metadata context was negotiated");
        }
        if (offset < 0 || length <= 0 || offset >= size()) {
            throw new IllegalArgumentException("block status [" + offset + ", +" + length + ") outside export "
                    + uri + " of size " + size());
        }
        long clipped = Math.min(Math.min(length, size() - offset), (1L << 32) - blockSize().minimum());
        checkRange("query block status", offset, clipped);
        PendingRequest.Status request = new PendingRequest.Status(metaContexts.size());
        return pick().submit(request, reqOne ? NBD_CMD_FLAG_REQ_ONE : 0, NBD_CMD_BLOCK_STATUS, offset, clipped,
                null);
    }

    private void requireWritable(String operation) {
        if (readOnly()) {
            throw new UnsupportedOperationException("cannot " + operation + ": export " + uri + " is read-only");
        }
    }

    private void checkRange(String operation, long offset, long length) {
        if (offset < 0 || length < 0 || offset > size() || length > size() - offset) {
            throw new IllegalArgumentException("cannot " + operation + " [" + offset + ", +" + length
                    + "): outside export " + uri + " of size " + size());
        }
        int min = blockSize().minimum();
        if (min > 1 && (offset % min != 0 || (length % min != 0 && offset + length != size()))) {
            throw new IllegalArgumentException("cannot " + operation + " [" + offset + ", +" + length
                    + "): not aligned to the minimum block size " + min + " of " + uri);
        }
    }

    /** Least loaded connection; round robin among equals. */
    private NbdConnection pick() {
        int n = connections.size();
        if (n == 1) {
            return connections.get(0);
        }
        int start = Math.floorMod(roundRobin.getAndIncrement(), n);
        NbdConnection best = null;
        int bestFree = Integer.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            NbdConnection connection = connections.get((start + i) % n);
            int free = connection.freeSlots();
            if (free > bestFree) {
                best = connection;
                bestFree = free;
            }
        }
        return best;
    }

    /**
     * Waits for a future of this client, unwrapping its failure.
     *
     * @throws IOException the request's failure ({@link io.chainsync.nbd.protocol.NbdRequestException}, ...)
     */
    public static <T> T await(CompletableFuture<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for an NBD reply");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof CompletionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof UncheckedIOException unchecked) {
                throw unchecked.getCause();
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new NbdException("NBD request failed: " + cause, cause);
        }
    }

    // ------------------------------------------------------------------ failure and close

    private void onFailure(NbdConnection failed, NbdException cause) {
        synchronized (closeLock) {
            if (state instanceof ConnectionState.Transmission transmission) {
                state = transmission.failed(cause);
            }
        }
        for (NbdConnection connection : connections) {
            if (connection != failed) {
                connection.fail(cause);
            }
        }
    }

    /**
     * Waits for in-flight requests (up to 60 s, then fails them), sends {@code NBD_CMD_DISC} on every
     * connection and closes the sockets. Idempotent.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (state instanceof ConnectionState.Closed) {
                return;
            }
            if (state instanceof ConnectionState.Transmission transmission) {
                state = transmission.closing();
            }
        }
        List<CompletableFuture<?>> inFlight = new ArrayList<>();
        for (NbdConnection connection : connections) {
            inFlight.addAll(connection.beginClose());
        }
        if (!inFlight.isEmpty()) {
            try {
                CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new))
                        .get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                // individual failures are reported through their own futures
            } catch (TimeoutException e) {
                LOGGER.atWarn().addKeyValue("uri", uri).addKeyValue("timeout", CLOSE_TIMEOUT)
                        .log("closing with NBD requests still in flight; failing them");
            }
        }
        for (NbdConnection connection : connections) {
            connection.disconnect();
        }
        synchronized (closeLock) {
            state = state.closed();
        }
        LOGGER.atDebug().addKeyValue("uri", uri).log("NBD client closed");
    }

    @Override
    public String toString() {
        return "NbdClient[" + uri + ", " + state.name() + "]";
    }
}
