package io.chainsync.stack;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local chainsync stack: an in-process {@link KafkaBroker} in {@code DIR/kafka} and a child-process
 * {@link SchemaRegistry} with its H2 database in {@code DIR/registry}. Both are started concurrently; restarting on the
 * same directory keeps topics, records, schema ids and the ports (the registry's only while still free). Prints nothing.
 */
public final class LocalStack implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(LocalStack.class);

    /**
     * How to run the stack.
     *
     * @param dir           state directory
     * @param numPartitions broker default {@code num.partitions}
     * @param kafkaPort     broker client port, 0 = persisted or free
     * @param registryPort  registry HTTP port, 0 = persisted (if free) or free
     * @param persistentRegistry keep registry state in {@code DIR/registry} (false = in-memory)
     */
    public record Settings(Path dir, int numPartitions, int kafkaPort, int registryPort, boolean persistentRegistry) {
        public Settings {
            Objects.requireNonNull(dir, "dir");
            if (numPartitions < 1) {
                throw new IllegalArgumentException("numPartitions must be >= 1, got " + numPartitions);
            }
        }

        /** One partition per topic by default, free/persisted ports, persistent registry. */
        public static Settings defaults(Path dir) {
            return new Settings(dir, 1, 0, 0, true);
        }

        public Settings withNumPartitions(int n) {
            return new Settings(dir, n, kafkaPort, registryPort, persistentRegistry);
        }

        public Settings withPorts(int newKafkaPort, int newRegistryPort) {
            return new Settings(dir, numPartitions, newKafkaPort, newRegistryPort, persistentRegistry);
        }

        public Settings withPersistentRegistry(boolean persistent) {
            return new Settings(dir, numPartitions, kafkaPort, registryPort, persistent);
        }
    }

    private final Path dir;
    private final KafkaBroker broker;
    private final SchemaRegistry registry;
    private final Duration startTime;

    private LocalStack(Path dir, KafkaBroker broker, SchemaRegistry registry, Duration startTime) {
        this.dir = dir;
        this.broker = broker;
        this.registry = registry;
        this.startTime = startTime;
    }

    /** Starts the stack in {@code dir} with {@link Settings#defaults(Path)}. */
    public static LocalStack start(Path dir) {
        return start(Settings.defaults(dir));
    }

    /** Starts broker and registry concurrently; returns when both serve, or stops whichever started and throws. */
    public static LocalStack start(Settings settings) {
        long t0 = System.nanoTime();
        Path dir = settings.dir().toAbsolutePath();
        SchemaRegistry.Settings rs = SchemaRegistry.Settings
                .defaults(settings.persistentRegistry() ? dir.resolve("registry") : null)
                .withPort(settings.registryPort());
        // Resolve the app before starting anything: a missing build fails fast with the build hint.
        rs = rs.withHome(SchemaRegistry.locateHome());
        SchemaRegistry.Settings registrySettings = rs;
        CompletableFuture<SchemaRegistry> registryFuture = new CompletableFuture<>();
        Thread registryStarter = new Thread(() -> {
            try {
                registryFuture.complete(SchemaRegistry.start(registrySettings));
            } catch (Throwable t) {
                registryFuture.completeExceptionally(t);
            }
        }, "chainsync-registry-start");
        registryStarter.setDaemon(true);
        registryStarter.start();
        KafkaBroker broker;
        try {
            broker = KafkaBroker.start(KafkaBroker.Settings.defaults(dir.resolve("kafka"))
                    .withPorts(settings.kafkaPort(), 0)
                    .withNumPartitions(settings.numPartitions()));
        } catch (RuntimeException e) {
            registryFuture.thenAccept(SchemaRegistry::close);
            throw e;
        }
        SchemaRegistry registry;
        try {
            registry = registryFuture.join();
        } catch (CompletionException e) {
            broker.close();
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        LOGGER.atInfo().setMessage("Local stack started")
                .addKeyValue("bootstrap", broker.bootstrapServers())
                .addKeyValue("registry", registry.url())
                .addKeyValue("brokerMs", broker.startTime().toMillis())
                .addKeyValue("registryMs", registry.startTime().toMillis())
                .addKeyValue("ms", took.toMillis())
                .log();
        return new LocalStack(dir, broker, registry, took);
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

    /** {@code bootstrap=HOST:PORT registry=URL}, the line {@code chainsync stack} prints. */
    public String describe() {
        return "bootstrap=" + bootstrapServers() + " registry=" + registryUrl();
    }

    /** {@code bootstrap.servers} and {@code apicurio.registry.url}, to merge into client configs. */
    public Map<String, Object> clientConfig() {
        return Map.of("bootstrap.servers", bootstrapServers(), "apicurio.registry.url", registryUrl());
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

    /** Wall time of {@link #start}. */
    public Duration startTime() {
        return startTime;
    }

    /** Stops the broker, then the registry. */
    @Override
    public void close() {
        try {
            broker.close();
        } finally {
            registry.close();
        }
    }
}
