package io.chainsync.planner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyDescription;

/**
 * The internal topics Kafka Streams makes for a topology on its first rebalance, derived from the topology's
 * description by Streams' naming rules: {@code APPLICATION-NAME-repartition} for each repartition topic (every
 * source or sink topic that is not a public one) and {@code APPLICATION-STORE-changelog} for each state store
 * (every store of the planner is logged), with the configurations Streams gives them.
 *
 * <p>Made ahead, while the planner joins its group, they spare a fresh broker's first planner start the wait
 * for them: Streams creates its internal topics itself and then asks every 100 ms until all are ready, 1.6 s
 * on this project's benchmark machine for the planner's 18 topics (docs/design.md, "`sync`: start-up and
 * shutdown").
 * When all the topology's sources have the same partition count, every internal topic has it too: a
 * repartition topic gets the most partitions of the topics its sub-topology reads, and a changelog one
 * partition per task of its sub-topology. Pure: no I/O.
 */
public final class InternalTopics {

    static final String REPARTITION_SUFFIX = "-repartition";
    static final String CHANGELOG_SUFFIX = "-changelog";

    private InternalTopics() {
    }

    /**
     * @param description the topology's description
     * @param streamsProperties the Streams client's properties: its application id, and the {@code topic.}
     *     settings Streams applies to every internal topic
     * @param publicTopics the topics the topology reads or writes that are not its own
     * @param partitions the partition count of every source topic of the topology
     */
    public static List<NewTopic> of(TopologyDescription description, Properties streamsProperties,
                                    Set<String> publicTopics, int partitions) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1: " + partitions);
        }
        Object application = streamsProperties.get(StreamsConfig.APPLICATION_ID_CONFIG);
        if (application == null || application.toString().isBlank()) {
            throw new IllegalArgumentException("no " + StreamsConfig.APPLICATION_ID_CONFIG);
        }
        Set<String> repartition = new TreeSet<>();
        Set<String> stores = new TreeSet<>();
        for (TopologyDescription.Subtopology sub : description.subtopologies()) {
            for (TopologyDescription.Node node : sub.nodes()) {
                if (node instanceof TopologyDescription.Source source) {
                    if (source.topicSet() == null) {
                        throw new IllegalArgumentException("a source by pattern: " + source.name());
                    }
                    source.topicSet().stream().filter(t -> !publicTopics.contains(t)).forEach(repartition::add);
                } else if (node instanceof TopologyDescription.Sink sink) {
                    if (sink.topic() == null) {
                        throw new IllegalArgumentException("a sink by extractor: " + sink.name());
                    }
                    if (!publicTopics.contains(sink.topic())) {
                        repartition.add(sink.topic());
                    }
                } else if (node instanceof TopologyDescription.Processor processor) {
                    stores.addAll(processor.stores());
                }
            }
        }
        if (!description.globalStores().isEmpty()) {
            throw new IllegalArgumentException("global stores are not derived here");
        }
        Map<String, String> common = topicSettings(streamsProperties);
        List<NewTopic> topics = new ArrayList<>();
        for (String name : repartition) {
            if (!name.endsWith(REPARTITION_SUFFIX)) {
                throw new IllegalArgumentException("not a repartition topic, nor a public one: " + name);
            }
            // Streams deletes a repartition topic's records once they are committed: kept until then
            Map<String, String> configs = new HashMap<>(Map.of("cleanup.policy", "delete",
                    "segment.bytes", "52428800", "retention.ms", "-1", "message.timestamp.type", "CreateTime"));
            configs.putAll(common);
            topics.add(topic(application + "-" + name, partitions, configs));
        }
        for (String store : stores) {
            Map<String, String> configs = new HashMap<>(Map.of("cleanup.policy", "compact",
                    "message.timestamp.type", "CreateTime"));
            configs.putAll(common);
            topics.add(topic(application + "-" + store + CHANGELOG_SUFFIX, partitions, configs));
        }
        return topics;
    }

    private static NewTopic topic(String name, int partitions, Map<String, String> configs) {
        // replication: the broker's default, as Streams' own default (replication.factor -1)
        return new NewTopic(name, Optional.of(partitions), Optional.empty()).configs(configs);
    }

    /** The {@code topic.X} settings of the Streams properties, as {@code X}. */
    private static Map<String, String> topicSettings(Properties streamsProperties) {
        Map<String, String> settings = new HashMap<>();
        String prefix = StreamsConfig.TOPIC_PREFIX;
        streamsProperties.forEach((key, value) -> {
            if (key instanceof String k && k.startsWith(prefix)) {
                settings.put(k.substring(prefix.length()), String.valueOf(value));
            }
        });
        return settings;
    }
}
