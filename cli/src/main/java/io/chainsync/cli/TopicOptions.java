package io.chainsync.cli;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.TopicSetup;
import picocli.CommandLine.Option;

/** How the commands that may create the pipeline's topics create them. */
final class TopicOptions {

    @Option(names = "--partitions", paramLabel = "N", defaultValue = TopicSetup.DEFAULT_PARTITIONS,
            description = "partitions of the pipeline's topics when this command creates them (default ${DEFAULT-VALUE};"
                    + " 0: the broker's num.partitions); they share one count")
    int partitions;

    @Option(names = "--replication-factor", paramLabel = "N", defaultValue = "0",
            description = "replication factor of the topics this command creates (default: the broker's"
                    + " default.replication.factor)")
    short replicationFactor;

    /** Creates the pipeline's topics that are missing. */
    void ensure(ClientConfig config) {
        TopicSetup.ensure(config, partitions, replicationFactor);
    }

    /** The partition count given, for an embedded pipeline (0: the broker's). */
    int partitions() {
        return partitions;
    }
}
