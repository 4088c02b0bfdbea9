package io.chainsync.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local chainsync stack: an in-process {@link KafkaBroker} in {@code DIR/kafka} and a child-process
 * {@link SchemaRegistry} with its H2 database in {@code DIR/registry}. Both are started concurrently; restarting on the
 * same directory keeps topics, records, schema ids and the ports (the registry's only while still free). Prints nothing.
 *
 * <p>A <b>secure</b> stack ({@link Settings#secure()}) has a broker whose only client listener is SASL_SSL
 * (SCRAM-SHA-512; the KRaft controller listener stays on loopback, PLAINTEXT) and a registry that serves HTTPS only,
 * both with the server certificate of {@link StackCredentials} in {@code DIR/tls}. It writes what its clients need
 * into {@code DIR/client.properties} ({@code --kafka-config}) and {@code DIR/registry.properties}
 * ({@code --registry-config}), both 0600. A restart keeps certificates, users and passwords.
 */
public final class LocalStack implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(LocalStack.class);
    private static final String TLS_DIR = "tls";
    private static final String KAFKA_CLIENT_FILE = "client.properties";
    private static final String REGISTRY_CLIENT_FILE = "registry.properties";
    /** Broker settings of an {@link Settings#ephemeral() ephemeral} stack. */
    static final Map<String, String> EPHEMERAL_BROKER = Map.of("controlled.shutdown.enable", "false");

    /**
     * How to run the stack.
     *
     * @param dir           state directory
     * @param numPartitions broker default {@code num.partitions}
     * @param kafkaPort     broker client port, 0 = persisted or free
     * @param registryPort  registry HTTP port, 0 = persisted (if free) or free
     * @param persistentRegistry keep registry state in {@code DIR/registry} (false = in-memory)
     * @param secure        SASL_SSL-only broker and HTTPS-only registry, credentials in {@code DIR/tls}
     * @param ephemeral     a stack for one run, see {@link #withEphemeral}
     */
    public record Settings(Path dir, int numPartitions, int kafkaPort, int registryPort, boolean persistentRegistry,
                           boolean secure, boolean ephemeral) {
        public Settings {
            Objects.requireNonNull(dir, "dir");
            if (numPartitions < 1) {
                throw new IllegalArgumentException("numPartitions must be >= 1, got " + numPartitions);
            }
        }

        public Settings(Path dir, int numPartitions, int kafkaPort, int registryPort, boolean persistentRegistry,
                        boolean secure) {
            this(dir, numPartitions, kafkaPort, registryPort, persistentRegistry, secure, false);
        }

        /** One partition per topic by default, free/persisted ports, persistent registry. */
        public static Settings defaults(Path dir) {
            return new Settings(dir, 1, 0, 0, true, false, false);
        }

        public Settings withNumPartitions(int n) {
            return new Settings(dir, n, kafkaPort, registryPort, persistentRegistry, secure, ephemeral);
        }

        public Settings withPorts(int newKafkaPort, int newRegistryPort) {
            return new Settings(dir, numPartitions, newKafkaPort, newRegistryPort, persistentRegistry, secure, ephemeral);
        }

        public Settings withPersistentRegistry(boolean persistent) {
            return new Settings(dir, numPartitions, kafkaPort, registryPort, persistent, secure, ephemeral);
        }

        /**
         * A stack for one run, thrown away afterwards ({@code chainsync sync}): a broker that stops without a
         * controlled shutdown (its records are never read again), while the registry stops.
         */
        public Settings withEphemeral(boolean newEphemeral) {
            return new Settings(dir, numPartitions, kafkaPort, registryPort, persistentRegistry, secure, newEphemeral);
        }

        /** See {@link LocalStack} on the secure stack. */
        public Settings withSecure(boolean newSecure) {
            return new Settings(dir, numPartitions, kafkaPort, registryPort, persistentRegistry, newSecure, ephemeral);
        }
    }

    private final Path dir;
    private final KafkaBroker broker;
    private final SchemaRegistry registry;
    private final StackCredentials credentials;
    private final long launchedAt;
    private final boolean ephemeral;
    private volatile Duration startTime;

    private LocalStack(Path dir, KafkaBroker broker, SchemaRegistry registry, StackCredentials credentials,
                       long launchedAt, boolean ephemeral) {
        this.ephemeral = ephemeral;
        this.dir = dir;
        this.broker = broker;
        this.registry = registry;
        this.credentials = credentials;
        this.launchedAt = launchedAt;
    }

    /** Starts the stack in {@code dir} with {@link Settings#defaults(Path)}. */
    public static LocalStack start(Path dir) {
        return start(Settings.defaults(dir));
    }

    /** Starts broker and registry concurrently; returns when both serve, or stops whichever started and throws. */
    public static LocalStack start(Settings settings) {
        LocalStack stack = launch(settings);
        try {
            stack.awaitRegistry();
        } catch (RuntimeException e) {
            stack.broker.close();
            throw e;
        }
        return stack;
    }

    /**
     * Launches the registry's process, starts the broker meanwhile and returns once the broker serves: the registry
     * may still be starting ({@link #registryUrl()} is already known; {@link #awaitRegistry()} waits for it). Lets a
     * caller create topics and start services, which need only the broker, while the registry's JVM starts. On
     * failure stops whatever started and throws.
     */
    public static LocalStack launch(Settings settings) {
        long t0 = System.nanoTime();
        Path dir = settings.dir().toAbsolutePath();
        StackCredentials credentials = settings.secure() ? StackCredentials.ensure(dir.resolve(TLS_DIR)) : null;
        SchemaRegistry.Settings rs = SchemaRegistry.Settings
                .defaults(settings.persistentRegistry() ? dir.resolve("registry") : null)
                .withPort(settings.registryPort())
                .withTls(credentials);
        // Resolve the app before starting anything: a missing build fails fast with the build hint.
        rs = rs.withHome(SchemaRegistry.locateHome());
        SchemaRegistry registry = SchemaRegistry.launch(rs);
        KafkaBroker broker;
        try {
            KafkaBroker.Settings bs = KafkaBroker.Settings.defaults(dir.resolve("kafka"))
                    .withPorts(settings.kafkaPort(), 0)
                    .withNumPartitions(settings.numPartitions())
                    .withCredentials(credentials);
            broker = KafkaBroker.start(settings.ephemeral() ? bs.withOverrides(EPHEMERAL_BROKER) : bs);
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        if (credentials != null) {
            try {
                writeClientFiles(dir, credentials);
            } catch (IOException | RuntimeException e) {
                closeBoth(broker, registry);
                throw e instanceof IOException io ? new UncheckedIOException("Cannot write client files in " + dir, io)
                        : (RuntimeException) e;
            }
        }
        return new LocalStack(dir, broker, registry, credentials, t0, settings.ephemeral());
    }

    /**
     * A broker alone, for one run and thrown away afterwards ({@code chainsync sync}: a pipeline
     * private to one process needs no registry): it stops without a controlled shutdown.
     */
    public static KafkaBroker ephemeralBroker(Path dir) {
        return KafkaBroker.start(KafkaBroker.Settings.defaults(dir.toAbsolutePath().resolve("kafka"))
                .withPorts(0, 0).withOverrides(EPHEMERAL_BROKER));
    }

    /**
     * Waits until the registry serves too (at once when it already did); on failure the registry is stopped and
     * the error names its log.
     */
    public LocalStack awaitRegistry() {
        registry.awaitReady();
        if (startTime == null) {
            Duration took = Duration.ofNanos(System.nanoTime() - launchedAt);
            startTime = took;
            LOGGER.atInfo().setMessage("Local stack started")
                    .addKeyValue("bootstrap", broker.bootstrapServers())
                    .addKeyValue("registry", registry.url())
                    .addKeyValue("brokerMs", broker.startTime().toMillis())
                    .addKeyValue("registryMs", registry.startTime().toMillis())
                    .addKeyValue("ms", took.toMillis())
                    .log();
        }
        return this;
    }

    private static void writeClientFiles(Path dir, StackCredentials credentials) throws IOException {
        Properties kafka = new Properties();
        kafka.putAll(credentials.kafkaClientProperties());
        StackCredentials.writePrivate(dir.resolve(KAFKA_CLIENT_FILE), kafka,
                "Kafka client settings for this secure stack: chainsync ... --kafka-config FILE");
        Properties registry = new Properties();
        registry.putAll(credentials.registryClientProperties());
        StackCredentials.writePrivate(dir.resolve(REGISTRY_CLIENT_FILE), registry,
                "Registry client settings for this secure stack: chainsync ... --registry-config FILE");
    }

    /** {@code 127.0.0.1:PORT}. */
    public String bootstrapServers() {
        return broker.bootstrapServers();
    }

    /** Apicurio API base for {@code apicurio.registry.url}, e.g. {@code http://127.0.0.1:PORT/apis/registry/v2}. */
    public String registryUrl() {
        return registry.url();
    }

    /** Confluent-compatible registry API base, e.g. {@code http://127.0.0.1:PORT/apis/ccompat/v7}. */
    public String confluentCompatUrl() {
        return registry.confluentCompatUrl();
    }

    /**
     * {@code bootstrap=HOST:PORT registry=URL}, the line {@code chainsync stack} prints; a secure stack adds
     * {@code kafka-config=FILE registry-config=FILE}.
     */
    public String describe() {
        String line = "bootstrap=" + bootstrapServers() + " registry=" + registryUrl();
        return credentials == null ? line
                : line + " kafka-config=" + kafkaConfigFile() + " registry-config=" + registryConfigFile();
    }

    /** {@code bootstrap.servers} and {@code apicurio.registry.url}, to merge into client configs. */
    public Map<String, Object> clientConfig() {
        return Map.of("bootstrap.servers", bootstrapServers(), "apicurio.registry.url", registryUrl());
    }

    /** Whether this is a secure stack (SASL_SSL broker, HTTPS registry). */
    public boolean secure() {
        return credentials != null;
    }

    /** Kafka client properties a client of this stack needs (empty unless secure); also in {@link #kafkaConfigFile()}. */
    public Map<String, String> kafkaClientProperties() {
        return credentials == null ? Map.of() : credentials.kafkaClientProperties();
    }

    /** Registry client properties (empty unless secure); also in {@link #registryConfigFile()}. */
    public Map<String, String> registryClientProperties() {
        return credentials == null ? Map.of() : credentials.registryClientProperties();
    }

    /** {@code DIR/client.properties}: what {@code --kafka-config} takes (written by a secure stack only). */
    public Path kafkaConfigFile() {
        return dir.resolve(KAFKA_CLIENT_FILE);
    }

    /** {@code DIR/registry.properties}: what {@code --registry-config} takes (written by a secure stack only). */
    public Path registryConfigFile() {
        return dir.resolve(REGISTRY_CLIENT_FILE);
    }

    public KafkaBroker broker() {
        return broker;
    }

    public SchemaRegistry registry() {
        return registry;
    }

    public Path dir() {
        return dir;
    }

    /** Wall time of {@link #start} (of {@link #launch} and {@link #awaitRegistry()}); null until the registry served. */
    public Duration startTime() {
        return startTime;
    }

    /**
     * Stops the broker, then the registry; an {@link Settings#ephemeral() ephemeral} stack stops both at once (its
     * state is thrown away: nothing depends on the registry's database being closed before the broker stopped).
     */
    @Override
    public void close() {
        if (ephemeral) {
            closeBoth(broker, registry);
            return;
        }
        try {
            broker.close();
        } finally {
            registry.close();
        }
    }

    private static void closeBoth(KafkaBroker broker, SchemaRegistry registry) {
        Thread registryStopper = new Thread(registry::close, "chainsync-registry-stop");
        registryStopper.start();
        try {
            broker.close();
        } finally {
            try {
                registryStopper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
