package io.chainsync.stack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.CodeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apicurio Registry 2.x ({@code io.apicurio:apicurio-registry-app:zip:all}, a Quarkus app) running as a
 * <b>child process</b> of this JVM, bound to 127.0.0.1.
 *
 * <p>Storage: the app's default H2 SQL storage (Apicurio's "in-memory" storage kind, pointed at a file). With a {@link Settings#dataDir() data directory} the H2 database is
 * a file there ({@code DATA/registry_db.mv.db}), so schema ids survive restarts (records already in Kafka stay
 * readable); without one it is {@code jdbc:h2:mem} and everything is lost when the process ends. The child's
 * stdout/stderr go to {@code DATA/registry.log} (or a temporary file).
 *
 * <p>Where the app is found: see {@link #locateHome()}. The child is killed on {@link #close()} and by a JVM
 * shutdown hook; a child left over by a killed JVM is found through {@code DATA/registry.pid} and killed on the
 * next start.
 */
public final class SchemaRegistry implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(SchemaRegistry.class);

    /** System property naming the unpacked Apicurio app directory (highest priority). */
    public static final String HOME_PROPERTY = "chainsync.apicurio.home";
    /** Environment variable naming the unpacked Apicurio app directory. */
    public static final String HOME_ENV = "CHAINSYNC_APICURIO_HOME";
    /** Apicurio REST API v2 path: the base URL Apicurio serdes want in {@code apicurio.registry.url}. */
    public static final String API_PATH = "/apis/registry/v2";
    /** Confluent Schema Registry compatible API path (v7; v6 also answers but is deprecated). */
    public static final String CCOMPAT_PATH = "/apis/ccompat/v7";

    private static final String BUILD_HINT = "build it with `mvn -B -f stack/pom.xml package` (unpacks "
            + "io.apicurio:apicurio-registry-app:%s:zip:all into stack/target/apicurio), or set "
            + HOME_ENV + " / -D" + HOME_PROPERTY + " to a directory holding apicurio-registry-app-*-runner.jar and lib/";

    /**
     * How to run the registry.
     *
     * @param home         unpacked app directory; null = {@link #locateHome()}
     * @param dataDir      directory for the H2 database, log and pid files; null = in-memory storage, temp log
     * @param port         HTTP port; 0 = the one persisted in {@code dataDir} if still free, else a free one
     * @param readyTimeout how long to wait for {@code /health/ready}
     * @param tls          null: plain HTTP; else HTTPS only, with the server key of {@link StackCredentials#keystore()}
     */
    public record Settings(Path home, Path dataDir, int port, Duration readyTimeout, StackCredentials tls) {
        public Settings {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
            Objects.requireNonNull(readyTimeout, "readyTimeout");
            if (readyTimeout.isNegative() || readyTimeout.isZero()) {
                throw new IllegalArgumentException("readyTimeout must be positive, got " + readyTimeout);
            }
        }

        /** Located app, H2 file storage in {@code dataDir} (null = in-memory), free port, 120 s to get ready. */
        public static Settings defaults(Path dataDir) {
            return new Settings(null, dataDir, 0, Duration.ofSeconds(120), null);
        }

        public Settings withPort(int newPort) {
            return new Settings(home, dataDir, newPort, readyTimeout, tls);
        }

        public Settings withHome(Path newHome) {
            return new Settings(newHome, dataDir, port, readyTimeout, tls);
        }

        /** HTTPS only (no plain HTTP port), the server certificate and key from {@code credentials}. */
        public Settings withTls(StackCredentials credentials) {
            return new Settings(home, dataDir, port, readyTimeout, credentials);
        }
    }

    private final Process process;
    private final int port;
    private final StackCredentials tls;
    private final Path log;
    private final Path pidFile;
    private final Thread shutdownHook;
    private final Duration readyTimeout;
    private final long launchedAt;
    private volatile Duration startTime = Duration.ZERO;
    private final Object readyLock = new Object();
    private volatile boolean ready;
    private volatile boolean closed;

    private SchemaRegistry(Process process, int port, StackCredentials tls, Path log, Path pidFile,
                           Thread shutdownHook, Duration readyTimeout, long launchedAt) {
        this.process = process;
        this.port = port;
        this.tls = tls;
        this.log = log;
        this.pidFile = pidFile;
        this.shutdownHook = shutdownHook;
        this.readyTimeout = readyTimeout;
        this.launchedAt = launchedAt;
    }

    /** Starts with {@link Settings#defaults(Path)}. */
    public static SchemaRegistry start(Path dataDir) {
        return start(Settings.defaults(dataDir));
    }

    /** Launches the registry and returns once {@code /health/ready} answers 200. */
    public static SchemaRegistry start(Settings settings) {
        return launch(settings).awaitReady();
    }

    /**
     * Launches the registry's process and returns at once: its {@link #url()} is known, but it serves only once
     * {@link #awaitReady()} returned. Lets a caller start other things (the broker, the pipeline's services) while
     * the registry's JVM starts.
     */
    public static SchemaRegistry launch(Settings settings) {
        long t0 = System.nanoTime();
        Path home = settings.home() != null ? checkHome(settings.home()) : locateHome();
        Path runner = runnerJar(home).orElseThrow(() -> new IllegalStateException(
                "No apicurio-registry-app-*-runner.jar in " + home + "; " + String.format(BUILD_HINT, apicurioVersion())));
        try {
            Path dataDir = settings.dataDir() == null ? null : settings.dataDir().toAbsolutePath();
            Path log;
            Path pidFile = null;
            String jdbcUrl;
            if (dataDir != null) {
                Files.createDirectories(dataDir);
                log = dataDir.resolve("registry.log");
                pidFile = dataDir.resolve("registry.pid");
                killStale(pidFile);
                jdbcUrl = "jdbc:h2:file:" + dataDir.resolve("registry_db");
            } else {
                log = Files.createTempFile("chainsync-registry-", ".log");
                jdbcUrl = "jdbc:h2:mem:registry_db";
            }
            int port = choosePort(settings.port(), dataDir);
            List<String> cmd = new ArrayList<>();
            cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xms32m");
            cmd.add("-Xmx384m");
            cmd.add("-XX:+UseSerialGC");
            cmd.add("-XX:TieredStopAtLevel=1");
            cmd.add("-Dquarkus.http.host=" + KafkaBroker.HOST);
            StackCredentials tls = settings.tls();
            if (tls == null) {
                cmd.add("-Dquarkus.http.port=" + port);
            } else {
                // HTTPS only: the plain HTTP port is not even opened
                cmd.add("-Dquarkus.http.ssl-port=" + port);
                cmd.add("-Dquarkus.http.insecure-requests=disabled");
                cmd.add("-Dquarkus.http.port=0");
                cmd.add("-Dquarkus.http.ssl.certificate.key-store-file=" + tls.keystore());
                cmd.add("-Dquarkus.http.ssl.certificate.key-store-file-type=" + StackCredentials.STORE_TYPE);
            }
            cmd.add("-Dquarkus.datasource.jdbc.url=" + jdbcUrl);
            cmd.add("-Dquarkus.datasource.jdbc.initial-size=2");
            cmd.add("-Dquarkus.datasource.jdbc.min-size=2");
            cmd.add("-Dquarkus.datasource.jdbc.max-size=20");
            cmd.add("-jar");
            cmd.add(runner.toString());
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(home.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
            if (tls != null) {
                // passwords through the environment, not the command line (which every local user can read)
                pb.environment().put("QUARKUS_HTTP_SSL_CERTIFICATE_KEY_STORE_PASSWORD", tls.storePassword());
            }
            Process process = pb.start();
            Thread hook = new Thread(() -> destroy(process), "chainsync-registry-killer");
            Runtime.getRuntime().addShutdownHook(hook);
            if (pidFile != null) {
                Files.writeString(pidFile, Long.toString(process.pid()), StandardCharsets.UTF_8);
            }
            return new SchemaRegistry(process, port, tls, log, pidFile, hook, settings.readyTimeout(), t0);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the schema registry from " + runner, e);
        }
    }

    /**
     * Waits until {@code /health/ready} answers 200 (at most the settings' ready timeout from this call on); at
     * once when it did before. On failure the process is stopped and the error, one line, names the log (its
     * tail is logged at INFO).
     *
     * @return this registry
     */
    public SchemaRegistry awaitReady() {
        synchronized (readyLock) {
            if (ready) {
                return this;
            }
            try {
                // the whole timeout from now on: time the caller spent elsewhere since the launch is not counted
                pollReady(readyTimeout);
            } catch (RuntimeException e) {
                LOGGER.atInfo().setMessage("The registry's log ends with:\n" + tail(log)).log();
                close();
                throw e;
            }
            ready = true;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - launchedAt);
        startTime = took;
        LOGGER.atInfo().setMessage("Schema registry started")
                .addKeyValue("url", url())
                .addKeyValue("pid", process.pid())
                .addKeyValue("log", log)
                .addKeyValue("ms", took.toMillis())
                .log();
        return this;
    }

    /** Apicurio API base for serdes ({@code apicurio.registry.url}): {@code http://127.0.0.1:PORT/apis/registry/v2}. */
    public String url() {
        return baseUrl() + API_PATH;
    }

    /** Confluent-compatible API base ({@code schema.registry.url} of Confluent clients): {@code .../apis/ccompat/v7}. */
    public String confluentCompatUrl() {
        return baseUrl() + CCOMPAT_PATH;
    }

    /** {@code http://127.0.0.1:PORT}, or {@code https://...} when serving TLS. */
    public String baseUrl() {
        return (tls == null ? "http" : "https") + "://" + KafkaBroker.HOST + ":" + port;
    }

    /** HTTP port. */
    public int port() {
        return port;
    }

    /** Process id of the child JVM. */
    public long pid() {
        return process.pid();
    }

    /** The child's combined stdout/stderr. */
    public Path logFile() {
        return log;
    }

    /** Wall time from the launch to ready (zero until {@link #awaitReady()} returned). */
    public Duration startTime() {
        return startTime;
    }

    /** Stops the child (SIGTERM, then SIGKILL after 10 s); idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        destroy(process);
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // JVM already shutting down: the hook runs anyway
        }
        if (pidFile != null) {
            try {
                Files.deleteIfExists(pidFile);
            } catch (IOException e) {
                LOGGER.atDebug().setMessage("Cannot delete pid file").addKeyValue("file", pidFile).setCause(e).log();
            }
        }
    }

    /**
     * Finds the unpacked Apicurio app. Lookup order, first directory holding {@code apicurio-registry-app-*-runner.jar}:
     * <ol>
     *   <li>system property {@value #HOME_PROPERTY}</li>
     *   <li>environment variable {@value #HOME_ENV}</li>
     *   <li>{@code apicurio/} next to, or one level above, the jar or classes directory this class was loaded from
     *       ({@code stack/target/classes} → {@code stack/target/apicurio}; {@code DIST/lib/chainsync-stack.jar} →
     *       {@code DIST/lib/apicurio} or {@code DIST/apicurio})</li>
     *   <li>{@code stack/target/apicurio} under the working directory or its parent (running from the repo)</li>
     * </ol>
     * An explicitly set property or variable that does not hold the app is an error, not skipped.
     *
     * @throws IllegalStateException naming every place tried and the command that builds the app directory
     */
    public static Path locateHome() {
        String prop = System.getProperty(HOME_PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return checkHome(Paths.get(prop));
        }
        String env = System.getenv(HOME_ENV);
        if (env != null && !env.isBlank()) {
            return checkHome(Paths.get(env));
        }
        Set<Path> candidates = new LinkedHashSet<>();
        codeLocation().ifPresent(loc -> {
            Path parent = loc.getParent();
            if (parent != null) {
                candidates.add(parent.resolve("apicurio"));
                if (parent.getParent() != null) {
                    candidates.add(parent.getParent().resolve("apicurio"));
                }
            }
        });
        Path cwd = Paths.get("").toAbsolutePath();
        candidates.add(cwd.resolve("stack/target/apicurio"));
        if (cwd.getParent() != null) {
            candidates.add(cwd.getParent().resolve("stack/target/apicurio"));
        }
        for (Path c : candidates) {
            if (runnerJar(c).isPresent()) {
                return c.normalize();
            }
        }
        throw new IllegalStateException("Apicurio Registry app not found (tried -D" + HOME_PROPERTY + ", $" + HOME_ENV
                + ", " + candidates + "); " + String.format(BUILD_HINT, apicurioVersion()));
    }

    /** The Apicurio Registry version this module was built against. */
    public static String apicurioVersion() {
        try (InputStream in = SchemaRegistry.class.getResourceAsStream("stack.properties")) {
            if (in == null) {
                return "2.6.13.Final";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("apicurio.version", "2.6.13.Final");
        } catch (IOException e) {
            return "2.6.13.Final";
        }
    }

    private void pollReady(Duration timeout) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
        if (tls != null) {
            builder.sslContext(tls.sslContext());
        }
        HttpClient http = builder.build();
        URI ready;
        try {
            ready = new URI(baseUrl() + "/health/ready");
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (closed) {
                throw new IllegalStateException("Schema registry closed before it got ready");
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("Schema registry exited with code " + process.exitValue()
                        + " before getting ready; see " + log);
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2)).GET().build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for the schema registry", e);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Schema registry not ready after " + timeout + "; see " + log);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for the schema registry", e);
            }
        }
    }

    private static void destroy(Process process) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Requested port, else the port persisted in {@code DATA/registry.port} (the URL stays stable), else a free one. */
    private static int choosePort(int requested, Path dataDir) throws IOException {
        int port = requested;
        Path portFile = dataDir == null ? null : dataDir.resolve("registry.port");
        if (port == 0 && portFile != null && Files.exists(portFile)) {
            int old = Integer.parseInt(Files.readString(portFile, StandardCharsets.UTF_8).trim());
            if (Ports.isFree(old)) {
                port = old;
            } else {
                LOGGER.atWarn().setMessage("Persisted registry port is in use, choosing another")
                        .addKeyValue("port", old).addKeyValue("file", portFile).log();
            }
        }
        if (port == 0) {
            port = Ports.free();
        }
        if (portFile != null) {
            Files.writeString(portFile, Integer.toString(port), StandardCharsets.UTF_8);
        }
        return port;
    }

    /** Kills a registry left running by a JVM that died without its shutdown hook (kill -9). */
    private static void killStale(Path pidFile) throws IOException {
        if (!Files.exists(pidFile)) {
            return;
        }
        String text = Files.readString(pidFile, StandardCharsets.UTF_8).trim();
        Files.deleteIfExists(pidFile);
        long pid;
        try {
            pid = Long.parseLong(text);
        } catch (NumberFormatException e) {
            return;
        }
        ProcessHandle.of(pid)
                .filter(ProcessHandle::isAlive)
                .filter(h -> h.info().commandLine().map(c -> c.contains("apicurio-registry-app")).orElse(false))
                .ifPresent(h -> {
                    LOGGER.atWarn().setMessage("Killing a stale schema registry").addKeyValue("pid", pid).log();
                    h.destroy();
                    try {
                        h.onExit().get(10, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        h.destroyForcibly();
                    }
                });
    }

    private static Path checkHome(Path home) {
        if (runnerJar(home).isEmpty()) {
            throw new IllegalStateException("No apicurio-registry-app-*-runner.jar in " + home.toAbsolutePath() + "; "
                    + String.format(BUILD_HINT, apicurioVersion()));
        }
        return home.toAbsolutePath().normalize();
    }

    private static Optional<Path> runnerJar(Path home) {
        if (!Files.isDirectory(home) || !Files.isDirectory(home.resolve("lib"))) {
            return Optional.empty();
        }
        Path exact = home.resolve("apicurio-registry-app-" + apicurioVersion() + "-runner.jar");
        if (Files.isRegularFile(exact)) {
            return Optional.of(exact);
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(home, "apicurio-registry-app-*-runner.jar")) {
            for (Path p : ds) {
                return Optional.of(p);
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static Optional<Path> codeLocation() {
        try {
            CodeSource cs = SchemaRegistry.class.getProtectionDomain().getCodeSource();
            if (cs == null || cs.getLocation() == null) {
                return Optional.empty();
            }
            return Optional.of(Paths.get(cs.getLocation().toURI()).toAbsolutePath());
        } catch (URISyntaxException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException | RuntimeException e) {
            return "(log unreadable: " + e + ")";
        }
    }
}
