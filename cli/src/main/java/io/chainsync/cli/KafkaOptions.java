package io.chainsync.cli;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineNames;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where the pipeline's Kafka and registry are: options shared by the distributed commands. */
final class KafkaOptions {

    static final String KAFKA_CONFIG_HELP = "Kafka client properties for every Kafka client (security.protocol, "
            + "sasl.*, ssl.*, ...; `stack --secure` writes DIR/client.properties)";
    static final String REGISTRY_CONFIG_HELP = "registry client settings (apicurio.registry.request.ssl.truststore.*, "
            + "apicurio.auth.username/password, ...; `stack --secure` writes DIR/registry.properties)";

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]", required = true,
            description = "Kafka bootstrap servers")
    String bootstrapServers;

    @Option(names = "--registry-url", paramLabel = "URL", required = true,
            description = "schema registry API (Apicurio, e.g. http://HOST:PORT/apis/registry/v2)")
    String registryUrl;

    @Option(names = "--kafka-config", paramLabel = "FILE", description = KAFKA_CONFIG_HELP)
    Path kafkaConfig;

    @Option(names = "--registry-config", paramLabel = "FILE", description = REGISTRY_CONFIG_HELP)
    Path registryConfig;

    @Mixin
    NameOptions names;

    ClientConfig config() {
        return config(bootstrapServers, registryUrl, kafkaConfig, registryConfig, names.names());
    }

    /** The client settings of the given addresses, files (null: none) and names. */
    static ClientConfig config(String bootstrapServers, String registryUrl, Path kafkaConfig, Path registryConfig,
                               PipelineNames names) {
        return new ClientConfig(bootstrapServers, registryUrl, read("--kafka-config", kafkaConfig),
                read("--registry-config", registryConfig), names);
    }

    private static Map<String, String> read(String option, Path file) {
        if (file == null) {
            return Map.of();
        }
        try {
            return ClientConfig.readProperties(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + option + " " + file + ": " + e, e);
        }
    }
}
