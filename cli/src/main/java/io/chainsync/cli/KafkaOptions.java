package io.chainsync.cli;

import io.chainsync.kafka.ClientConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where the pipeline's Kafka and registry are: options shared by the distributed commands. */
final class KafkaOptions {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]", required = true,
            description = "Kafka bootstrap servers")
    String bootstrapServers;

    @Option(names = "--registry-url", paramLabel = "URL", required = true,
            description = "schema registry API (Apicurio, e.g. http://HOST:PORT/apis/registry/v2)")
    String registryUrl;

    @Option(names = "--kafka-config", paramLabel = "FILE",
            description = "client properties passed to every Kafka client (e.g. security settings)")
    Path kafkaConfig;

    ClientConfig config() throws IOException {
        Map<String, String> extra = kafkaConfig == null ? Map.of() : ClientConfig.readProperties(kafkaConfig);
        return new ClientConfig(bootstrapServers, registryUrl, extra);
    }
}
