package io.chainsync.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeSet;

/**
 * Where the pipeline's Kafka and registry are, plus client properties passed to every Kafka
 * client (e.g. security settings from {@code --kafka-config}) and settings of the registry client
 * (trust store, authentication, from {@code --registry-config}). Converted to {@link Properties}
 * only at the client boundary.
 *
 * @param extra    Kafka client properties ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}, ...)
 * @param registry Apicurio registry client settings, every key {@code apicurio.*}: e.g.
 *                 {@code apicurio.registry.request.ssl.truststore.location|type|password},
 *                 {@code apicurio.auth.username|password}
 * @param names    the pipeline's topic names and group ids on this cluster (prefixes)
 */
public record ClientConfig(String bootstrapServers, String registryUrl, Map<String, String> extra,
                           Map<String, String> registry, PipelineNames names) {

    /** Prefix of every setting the Apicurio registry client reads. */
    public static final String REGISTRY_PREFIX = "apicurio.";

    public ClientConfig {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrap servers must be given");
        }
        if (registryUrl != null && !(registryUrl.startsWith("http://") || registryUrl.startsWith("https://"))) {
            throw new IllegalArgumentException("registry URL must be an http(s) URL: " + registryUrl);
        }
        extra = Map.copyOf(Objects.requireNonNullElse(extra, Map.of()));
        ClientOverrides.check(extra);
        registry = Map.copyOf(Objects.requireNonNullElse(registry, Map.of()));
        names = Objects.requireNonNullElse(names, PipelineNames.DEFAULT);
        if (registryUrl == null && !registry.isEmpty()) {
            throw new IllegalArgumentException("registry client settings need a registry URL");
        }
        for (String key : registry.keySet()) {
            if (!key.startsWith(REGISTRY_PREFIX)) {
                throw new IllegalArgumentException("registry client setting '" + key + "' is not one of the Apicurio"
                        + " client's (" + REGISTRY_PREFIX + "*); Kafka client settings belong in --kafka-config");
            }
        }
    }

    public ClientConfig(String bootstrapServers, String registryUrl, Map<String, String> extra,
                        Map<String, String> registry) {
        this(bootstrapServers, registryUrl, extra, registry, PipelineNames.DEFAULT);
    }

    public ClientConfig(String bootstrapServers, String registryUrl, Map<String, String> extra) {
        this(bootstrapServers, registryUrl, extra, Map.of());
    }

    public ClientConfig(String bootstrapServers, String registryUrl) {
        this(bootstrapServers, registryUrl, Map.of(), Map.of());
    }

    /** Names the settings but not their values: they may hold passwords. */
    @Override
    public String toString() {
        return "ClientConfig[bootstrapServers=" + bootstrapServers + ", registryUrl=" + registryUrl + ", extra="
                + new TreeSet<>(extra.keySet()) + ", registry=" + new TreeSet<>(registry.keySet()) + ", names=" + names + "]";
    }

    /** Reads client properties from a file ({@code --kafka-config}, {@code --registry-config}). */
    public static Map<String, String> readProperties(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        Map<String, String> out = new HashMap<>();
        p.stringPropertyNames().forEach(k -> out.put(k, p.getProperty(k)));
        return out;
    }

    /**
     * Common client properties: the extra ones meant for every client, then the bootstrap servers.
     * Settings prefixed {@code producer.}, {@code consumer.}, {@code admin.} or {@code streams.}
     * are left out here and applied over the code's defaults by {@link ClientOverrides}.
     */
    public Properties properties() {
        Properties p = new Properties();
        extra.forEach((k, v) -> {
            if (!ClientOverrides.prefixed(k)) {
                p.put(k, v);
            }
        });
        p.put("bootstrap.servers", bootstrapServers);
        return p;
    }

    /** Properties of an admin client: {@link #properties()} with the {@code admin.} settings over them. */
    public Properties adminProperties() {
        return ClientOverrides.apply(properties(), extra, ClientOverrides.ADMIN);
    }

    /**
     * Serdes of the public topics: the registry's; with no registry (a pipeline private to one
     * process, {@link #privatePipeline}) plain Avro like the internal topics.
     */
    public SerdeFactory serdes() {
        return registryUrl == null ? new PlainAvroSerdes() : new RegistrySerdes(registryUrl, registry);
    }

    /** Whether there is a schema registry (a shared cluster's contract); false for {@link #privatePipeline}. */
    public boolean hasRegistry() {
        return registryUrl != null;
    }

    /**
     * A pipeline private to one process ({@code chainsync sync} on its embedded broker): no
     * registry, every topic plain Avro. Nothing outside the process reads its topics, so there is
     * no contract to register.
     */
    public static ClientConfig privatePipeline(String bootstrapServers, PipelineNames names) {
        return new ClientConfig(bootstrapServers, null, Map.of(), Map.of(), names);
    }

    /** The same cluster and settings under other names (a topic and group prefix). */
    public ClientConfig withNames(PipelineNames newNames) {
        return new ClientConfig(bootstrapServers, registryUrl, extra, registry, newNames);
    }

    /** The pipeline's topics under {@link #names()}: public ones on the registry, internal ones plain Avro. */
    public PipelineTopics topics() {
        return PipelineTopics.create(names, serdes(), new PlainAvroSerdes());
    }
}
