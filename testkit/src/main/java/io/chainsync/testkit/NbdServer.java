package io.chainsync.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A long-running NBD server child process listening on a unix socket, or on a TCP port (base of
 * {@link QemuNbdServer} and {@link NbdkitServer}).
 *
 * <p>The process is started in the foreground (never {@code --fork}: qemu-nbd may exit non-zero
 * while serving fine), its stdout+stderr are captured in memory ({@link #output()}), and the
 * constructor returns only once the socket completes an NBD greeting. Readiness is probed with a
 * clean handshake ending in {@code NBD_OPT_ABORT}, so the server logs nothing for it.
 *
 * <p>{@link #close()} sends SIGTERM, waits up to 5 s, then SIGKILLs, and removes the socket. A JVM
 * shutdown hook kills every server still running, so a crashed test leaves no processes behind.
 */
public abstract class NbdServer implements AutoCloseable {

    /** Default time to wait for the socket to accept a connection. */
    public static final Duration START_TIMEOUT = Duration.ofSeconds(15);

    /** The same server command as {@code dead}'s, started again on its Unix socket (a source restarted). */
    public static NbdServer restart(NbdServer dead) {
        return new NbdServer(dead.command(), dead.socket(), START_TIMEOUT) { };
    }

    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicInteger COUNTER = new AtomicInteger();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "testkit-nbd-reaper"));
    }

    private final Process process;
    private final Path socket;
    private final InetSocketAddress tcp;
    private final List<String> command;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private volatile boolean closed;

    /**
     * Starts {@code command} (which must make the server listen on {@code socket}) and waits for it.
     *
     * @throws IllegalStateException if the process exits or the socket does not answer in time;
     *                               the message holds the command line and the server's output
     */
    protected NbdServer(List<String> command, Path socket, Duration startTimeout) {
        this(command, socket, null, startTimeout);
    }

    /**
     * Starts {@code command} (which must make the server listen on {@code tcp}) and waits until that
     * port completes an NBD greeting.
     */
    protected NbdServer(List<String> command, InetSocketAddress tcp, Duration startTimeout) {
        this(command, null, tcp, startTimeout);
    }

    private NbdServer(List<String> command, Path socket, InetSocketAddress tcp, Duration startTimeout) {
        this.command = List.copyOf(command);
        this.socket = socket;
        this.tcp = tcp;
        if (socket != null) {
            checkSocketPath(socket);
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                throw new IllegalStateException("cannot remove stale socket " + socket, e);
            }
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + Exec.quote(command) + ": " + e.getMessage(), e);
        }
        LIVE.add(process);
        Thread drain = new Thread(() -> pump(process.getInputStream()), "nbd-server-output");
        drain.setDaemon(true);
        drain.start();
        try {
            awaitReady(startTimeout);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** A fresh socket path {@code dir/PREFIX-N.sock} (unique within this JVM). */
    protected static Path newSocket(Path dir, String prefix) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + dir, e);
        }
        return dir.toAbsolutePath().resolve(prefix + "-" + ProcessHandle.current().pid() + "-"
                + COUNTER.incrementAndGet() + ".sock");
    }

    private static void checkSocketPath(Path socket) {
        int len = socket.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8).length;
        if (len > 107) {
            throw new IllegalArgumentException("unix socket path too long (" + len + " > 107 bytes): " + socket
                    + " — use a shorter directory");
        }
    }

    private void pump(InputStream in) {
        byte[] b = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(b)) > 0) {
                synchronized (out) {
                    if (out.size() < 1 << 20) {
                        out.write(b, 0, n);
                    }
                }
            }
        } catch (IOException e) {
            // process ended
        }
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String lastError = "socket not created";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                sleep(50); // let the output drain
                throw new IllegalStateException("NBD server exited with " + process.exitValue()
                        + " before serving: " + Exec.quote(command) + "\n--- output ---\n" + output().strip());
            }
            if (socket == null || Files.exists(socket)) {
                try {
                    if (socket != null) {
                        probe(socket);
                    } else {
                        probe(tcp);
                    }
                    return;
                } catch (IOException e) {
                    lastError = e.toString();
                }
            }
            sleep(20);
        }
        throw new IllegalStateException("NBD server not ready after " + timeout + " (" + lastError + "): "
                + Exec.quote(command) + "\n--- output ---\n" + output().strip());
    }

    /**
     * Connects, checks the newstyle greeting and ends the negotiation politely with NBD_OPT_ABORT.
     */
    static void probe(Path socket) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            probe(ch);
        }
    }

    static void probe(InetSocketAddress tcp) throws IOException {
        try (SocketChannel ch = SocketChannel.open(tcp)) {
            probe(ch);
        }
    }

    /** Works for TLS-only servers too: they must accept NBD_OPT_ABORT in plaintext. */
    private static void probe(SocketChannel ch) throws IOException {
        ByteBuffer greet = ByteBuffer.allocate(18);
        while (greet.hasRemaining()) {
            if (ch.read(greet) < 0) {
                throw new IOException("connection closed during greeting");
            }
        }
        greet.flip();
        long magic = greet.getLong();
        long opt = greet.getLong();
        if (magic != 0x4e42444d41474943L || opt != 0x49484156454F5054L) {
            throw new IOException("not an NBD newstyle server");
        }
        ByteBuffer msg = ByteBuffer.allocate(4 + 16);
        msg.putInt(3); // client flags: FIXED_NEWSTYLE | NO_ZEROES
        msg.putLong(0x49484156454F5054L).putInt(2).putInt(0); // IHAVEOPT, NBD_OPT_ABORT, len 0
        msg.flip();
        while (msg.hasRemaining()) {
            ch.write(msg);
        }
        ByteBuffer reply = ByteBuffer.allocate(20); // optional ACK; read it so the server sees a clean end
        while (reply.hasRemaining() && ch.read(reply) >= 0) {
            // keep reading
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** The unix socket the server listens on ({@code null} for a TCP server). */
    public Path socket() {
        return socket;
    }

    /** The TCP address the server listens on ({@code null} for a unix socket server). */
    public InetSocketAddress tcpAddress() {
        return tcp;
    }

    /**
     * The NBD URI of the default export: {@code nbd+unix:///?socket=PATH}, or {@code nbd://HOST:PORT/}
     * for a TCP server (empty export name, which is what qemu-nbd and nbdkit serve by default).
     */
    public String uri() {
        if (socket == null) {
            return "nbd://" + tcp.getHostString() + ":" + tcp.getPort() + "/";
        }
        return "nbd+unix:///?socket=" + socket;
    }

    /** A TCP port that was free a moment ago (the server started on it may still lose a race). */
    protected static int freePort(String host) {
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free TCP port on " + host, e);
        }
    }

    /** The server's command line. */
    public List<String> command() {
        return command;
    }

    /** The server process id. */
    public long pid() {
        return process.pid();
    }

    /**
     * Sends the server process a signal by name ({@code STOP} freezes it mid-conversation,
     * {@code CONT} resumes it, {@code KILL} ends it), as {@code kill -NAME PID} does.
     */
    public void signal(String name) throws IOException, InterruptedException {
        int code = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
        if (code != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " exited " + code);
        }
    }

    /** True while the server process runs. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything the server wrote to stdout/stderr so far (capped at 1 MiB). */
    public String output() {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /** Kills the server (SIGTERM, then SIGKILL after 5 s) and removes the socket. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            LIVE.remove(process);
            try {
                if (socket != null) {
                    Files.deleteIfExists(socket);
                }
            } catch (IOException e) {
                // best effort
            }
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + uri() + ", pid " + process.pid() + "]";
    }
}
