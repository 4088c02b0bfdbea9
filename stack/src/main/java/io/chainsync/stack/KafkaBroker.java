package io.chainsync.stack;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.raft.DynamicVoters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka (KRaft, combined broker + controller) running <b>in this JVM</b>.
 *
 * <p>Storage lives under {@link Settings#dir()}:
 * <pre>
 *   DIR/server.properties   the effective configuration (for reference / for {@code kafka.Kafka})
 *   DIR/ports.properties    the ports chosen on first start, reused on restart
 *   DIR/logs/               log.dirs (also the metadata log dir)
 * </pre>
 * The directory is formatted on first start the way {@code kafka-storage.sh format --standalone} does it
 * ({@link Formatter} with a one-voter dynamic quorum); a restart on the same directory keeps every topic
 * and record. Ports are chosen free on first start and persisted, so the bootstrap address stays the same
 * across restarts (start fails with a clear error if such a port was taken meanwhile).
 *
 * <p>A JVM shutdown hook stops the broker cleanly if {@link #close()} was not called. Note: Kafka's fatal-fault
 * handlers may halt the JVM on unrecoverable storage errors, as they do in a standalone broker.
 */
public final class KafkaBroker implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(KafkaBroker.class);

    /** Node id of the single combined broker/controller. */
    public static final int NODE_ID = 1;
    static final String HOST = "127.0.0.1";
    private static final String BROKER_LISTENER = "PLAINTEXT";
    private static final String SECURE_LISTENER = "SASL_SSL";
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final String PORTS_FILE = "ports.properties";

    /**
     * How to run the broker.
     *
     * @param dir            state directory (created if absent)
     * @param port           client port; 0 = reuse the persisted port, else a free one
     * @param controllerPort controller port; 0 = reuse the persisted port, else a free one
     * @param numPartitions  {@code num.partitions} default for topics created without a count
     * @param overrides      extra broker properties, applied last
     * @param credentials    null: a PLAINTEXT client listener; else the client listener is SASL_SSL only (SCRAM,
     *                       TLS with {@link StackCredentials#keystore()}) and its users are made at format time
     */
    public record Settings(Path dir, int port, int controllerPort, int numPartitions, Map<String, String> overrides,
                           StackCredentials credentials) {
        public Settings {
            Objects.requireNonNull(dir, "dir");
            if (port < 0 || port > 65535 || controllerPort < 0 || controllerPort > 65535) {
                throw new IllegalArgumentException("ports must be 0..65535, got " + port + "/" + controllerPort);
            }
            if (port != 0 && port == controllerPort) {
                throw new IllegalArgumentException("port and controllerPort must differ: " + port);
            }
            if (numPartitions < 1) {
                throw new IllegalArgumentException("numPartitions must be >= 1, got " + numPartitions);
            }
            overrides = Map.copyOf(overrides);
        }

        /** Free ports (persisted), 1 partition per topic by default, no overrides. */
        public static Settings defaults(Path dir) {
            return new Settings(dir, 0, 0, 1, Map.of(), null);
        }

        public Settings withPorts(int newPort, int newControllerPort) {
            return new Settings(dir, newPort, newControllerPort, numPartitions, overrides, credentials);
        }

        public Settings withNumPartitions(int n) {
            return new Settings(dir, port, controllerPort, n, overrides, credentials);
        }

        public Settings withOverrides(Map<String, String> newOverrides) {
            return new Settings(dir, port, controllerPort, numPartitions, newOverrides, credentials);
        }

        /** SASL_SSL (SCRAM) clients only, authenticated with {@code newCredentials}. */
        public Settings withCredentials(StackCredentials newCredentials) {
            return new Settings(dir, port, controllerPort, numPartitions, overrides, newCredentials);
        }
    }

    private final Path dir;
    private final int port;
    private final int controllerPort;
    private final KafkaRaftServer server;
    private final Duration startTime;
    private final Thread shutdownHook;
    private boolean closed;

    private KafkaBroker(Path dir, int port, int controllerPort, KafkaRaftServer server, Duration startTime) {
        this.dir = dir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.server = server;
        this.startTime = startTime;
        // Ctrl-C / System.exit without close(): shut down cleanly so the next start needs no log recovery.
        this.shutdownHook = new Thread(this::shutdown, "chainsync-kafka-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts a broker with {@link Settings#defaults(Path)}. */
    public static KafkaBroker start(Path dir) {
        return start(Settings.defaults(dir));
    }

    /** Formats {@code settings.dir()} if needed, starts the broker and returns once it serves clients. */
    public static KafkaBroker start(Settings settings) {
        long t0 = System.nanoTime();
        Path dir = settings.dir().toAbsolutePath();
        try {
            Files.createDirectories(dir);
            Properties persisted = readPorts(dir);
            int port = choosePort(settings.port(), persisted, "port");
            int controllerPort = choosePort(settings.controllerPort(), persisted, "controller.port");
            if (port == controllerPort) {
                controllerPort = Ports.free();
            }
            String security = settings.credentials() == null ? "PLAINTEXT" : "SASL_SSL";
            checkSecurity(dir, persisted.getProperty("security", "PLAINTEXT"), security);
            Properties props = serverProperties(dir, port, controllerPort, settings);
            // it may hold the broker's SCRAM password and the key store's
            StackCredentials.writePrivate(dir.resolve("server.properties"), props, "chainsync in-process KRaft broker");
            KafkaConfig config = KafkaConfig.fromProps(props, false);
            format(config, dir, controllerPort, settings.credentials());
            Properties ports = new Properties();
            ports.setProperty("port", Integer.toString(port));
            ports.setProperty("controller.port", Integer.toString(controllerPort));
            ports.setProperty("security", security);
            writeProperties(dir.resolve(PORTS_FILE), ports, "ports of the chainsync broker in this directory");

            KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
            try {
                server.startup();
            } catch (RuntimeException e) {
                shutdownQuietly(server);
                throw new IllegalStateException("Kafka broker failed to start in " + dir + ": " + e.getMessage(), e);
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            LOGGER.atInfo().setMessage("Kafka broker started")
                    .addKeyValue("bootstrap", HOST + ":" + port)
                    .addKeyValue("dir", dir)
                    .addKeyValue("ms", took.toMillis())
                    .log();
            return new KafkaBroker(dir, port, controllerPort, server, took);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prepare Kafka state directory " + dir, e);
        }
    }

    /** {@code 127.0.0.1:PORT} for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return HOST + ":" + port;
    }

    /** Client port. */
    public int port() {
        return port;
    }

    /** Controller (KRaft quorum) port. */
    public int controllerPort() {
        return controllerPort;
    }

    /** State directory. */
    public Path dir() {
        return dir;
    }

    /** Wall time from {@link #start} to serving (format included). */
    public Duration startTime() {
        return startTime;
    }

    /** Shuts the broker down cleanly and waits for it; idempotent. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // JVM already shutting down: the hook does it
        }
        shutdown();
    }

    private synchronized void shutdown() {
        if (closed) {
            return;
        }
        closed = true;
        long t0 = System.nanoTime();
        shutdownQuietly(server);
        LOGGER.atInfo().setMessage("Kafka broker stopped")
                .addKeyValue("dir", dir)
                .addKeyValue("ms", Duration.ofNanos(System.nanoTime() - t0).toMillis())
                .log();
    }

    private static void shutdownQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOGGER.atWarn().setMessage("Kafka broker shutdown failed").setCause(e).log();
        }
    }

    static Properties serverProperties(Path dir, int port, int controllerPort, Settings settings) {
        Properties p = new Properties();
        StackCredentials credentials = settings.credentials();
        // the one client (and inter-broker) listener: PLAINTEXT, or SASL_SSL only; the controller's stays internal
        String listener = credentials == null ? BROKER_LISTENER : SECURE_LISTENER;
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", Integer.toString(NODE_ID));
        p.setProperty("controller.quorum.bootstrap.servers", HOST + ":" + controllerPort);
        p.setProperty("listeners",
                listener + "://" + HOST + ":" + port + "," + CONTROLLER_LISTENER + "://" + HOST + ":" + controllerPort);
        p.setProperty("advertised.listeners", listener + "://" + HOST + ":" + port);
        p.setProperty("controller.listener.names", CONTROLLER_LISTENER);
        p.setProperty("inter.broker.listener.name", listener);
        p.setProperty("listener.security.protocol.map",
                listener + ":" + listener + "," + CONTROLLER_LISTENER + ":PLAINTEXT");
        if (credentials != null) {
            String mechanism = StackCredentials.SCRAM_MECHANISM;
            p.setProperty("sasl.enabled.mechanisms", mechanism);
            p.setProperty("sasl.mechanism.inter.broker.protocol", mechanism);
            p.setProperty("listener.name." + listener.toLowerCase(Locale.ROOT) + "."
                    + mechanism.toLowerCase(Locale.ROOT) + ".sasl.jaas.config",
                    StackCredentials.scramJaas(StackCredentials.BROKER_USER, credentials.brokerPassword()));
            p.setProperty("ssl.keystore.type", StackCredentials.STORE_TYPE);
            p.setProperty("ssl.keystore.location", credentials.keystore().toString());
            p.setProperty("ssl.keystore.password", credentials.storePassword());
            p.setProperty("ssl.key.password", credentials.storePassword());
            // the broker's own inter-broker client connects to this listener too
            p.setProperty("ssl.truststore.type", StackCredentials.STORE_TYPE);
            p.setProperty("ssl.truststore.location", credentials.truststore().toString());
            p.setProperty("ssl.truststore.password", credentials.storePassword());
            p.setProperty("ssl.client.auth", "none");
        }
        p.setProperty("log.dirs", dir.resolve("logs").toString());
        p.setProperty("num.partitions", Integer.toString(settings.numPartitions()));
        p.setProperty("default.replication.factor", "1");
        p.setProperty("auto.create.topics.enable", "false");
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "1");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("transaction.state.log.num.partitions", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        // one node: the broker's heartbeats to its own controller gate its start ("caught up", "unfenced");
        // at the default 2 s each of those waits takes up to 2 s
        p.setProperty("broker.heartbeat.interval.ms", "200");
        p.setProperty("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        p.setProperty("num.network.threads", "2");
        p.setProperty("num.io.threads", "2");
        p.setProperty("background.threads", "2");
        p.setProperty("num.recovery.threads.per.data.dir", "1");
        p.setProperty("controlled.shutdown.enable", "true");
        p.putAll(settings.overrides());
        return p;
    }

    /** The programmatic equivalent of {@code kafka-storage.sh format --standalone --ignore-formatted}. */
    private static void format(KafkaConfig config, Path dir, int controllerPort, StackCredentials credentials)
            throws IOException {
        if (formatted(dir)) {
            return;
        }
        String clusterId = Uuid.randomUuid().toString();
        DynamicVoters voters = DynamicVoters.parse(
                NODE_ID + "@" + HOST + ":" + controllerPort + ":" + Uuid.randomUuid());
        Formatter formatter = new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8))
                .setNodeId(config.nodeId())
                .setWriteBootstrapSnapshot(true)
                .setClusterId(clusterId)
                .setUnstableFeatureVersionsEnabled(false)
                .setIgnoreFormatted(true)
                .setControllerListenerName(config.controllerListenerNames().get(0))
                .setMetadataLogDirectory(config.metadataLogDir())
                .setHasDynamicQuorum(true)
                .setInitialControllers(voters)
                .setDirectories(List.of(dir.resolve("logs").toString()));
        if (credentials != null) {
            // KRaft keeps SCRAM users in the metadata log: bootstrap records, as `format --add-scram` makes them
            formatter.setScramArguments(List.of(
                    scramArgument(StackCredentials.CLIENT_USER, credentials.clientPassword()),
                    scramArgument(StackCredentials.BROKER_USER, credentials.brokerPassword())));
        }
        try {
            formatter.run();
        } catch (Exception e) {
            throw new IllegalStateException("Formatting Kafka storage in " + dir + " failed: " + e.getMessage(), e);
        }
        LOGGER.atInfo().setMessage("Formatted Kafka storage")
                .addKeyValue("dir", dir)
                .addKeyValue("clusterId", clusterId)
                .log();
    }

    private static String scramArgument(String user, String password) {
        return StackCredentials.SCRAM_MECHANISM + "=[name=" + user + ",password=" + password + "]";
    }

    private static boolean formatted(Path dir) {
        return Files.exists(dir.resolve("logs").resolve("meta.properties"));
    }

    /**
     * SCRAM users exist only when made at format time: a directory formatted for one kind of client listener
     * is not started with the other.
     */
    private static void checkSecurity(Path dir, String persisted, String wanted) {
        if (formatted(dir) && !persisted.equals(wanted)) {
            throw new IllegalStateException("The broker in " + dir + " was made with a " + persisted
                    + " client listener and cannot be started with a " + wanted + " one (its SCRAM users are made"
                    + " when the directory is formatted): start it " + ("SASL_SSL".equals(persisted) ? "with" : "without")
                    + " --secure, or use another directory");
        }
    }

    private static int choosePort(int requested, Properties persisted, String key) throws IOException {
        if (requested != 0) {
            return requested;
        }
        String old = persisted.getProperty(key);
        if (old != null) {
            int p = Integer.parseInt(old.trim());
            if (!Ports.isFree(p)) {
                throw new IllegalStateException("Port " + p + " (" + key + " persisted in " + PORTS_FILE
                        + ") is in use: is another broker running on this directory? Stop it, or delete "
                        + PORTS_FILE + " to choose new ports.");
            }
            return p;
        }
        return Ports.free();
    }

    private static Properties readPorts(Path dir) throws IOException {
        Properties p = new Properties();
        Path f = dir.resolve(PORTS_FILE);
        if (Files.exists(f)) {
            try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                p.load(r);
            }
        }
        return p;
    }

    private static void writeProperties(Path file, Properties p, String comment) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, comment);
        }
    }
}
