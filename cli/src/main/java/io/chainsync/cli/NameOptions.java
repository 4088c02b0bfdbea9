package io.chainsync.cli;

import io.chainsync.kafka.PipelineNames;
import picocli.CommandLine.Option;

/**
 * The pipeline's names on a shared Kafka cluster: every command that touches its topics or groups
 * takes the same prefixes, so that several pipelines share one cluster without meeting.
 */
final class NameOptions {

    @Option(names = "--topic-prefix", paramLabel = "PREFIX", defaultValue = "",
            description = "prepended to every topic name (e.g. team1. → team1.chainsync.jobs; default none)")
    String topicPrefix;

    @Option(names = "--group-prefix", paramLabel = "PREFIX", defaultValue = "",
            description = "prepended to every consumer group id and to the planner's Streams application id"
                    + " (e.g. team1- → team1-chainsync-copier; default none)")
    String groupPrefix;

    PipelineNames names() {
        return new PipelineNames(topicPrefix, groupPrefix);
    }
}
