package io.chainsync.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineNames;
import io.chainsync.kafka.PlainAvroSerdes;
import io.chainsync.kafka.TopicSetup;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.TopologyDescription;
import org.junit.jupiter.api.Test;

/**
 * The internal topics derived from a topology's description. That Streams itself makes the same ones (names,
 * partitions, settings) against a real broker is {@code InternalTopicsIT}'s.
 */
class InternalTopicsTest {

    private static Properties streams(String application, Map<String, String> extra) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, application);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092");
        p.putAll(extra);
        return p;
    }

    private static Map<String, NewTopic> byName(List<NewTopic> topics) {
        return topics.stream().collect(Collectors.toMap(NewTopic::name, t -> t, (a, b) -> a, TreeMap::new));
    }

    @Test
    void aRepartitionAndAStoreBecomeARepartitionAndAChangelogTopic() {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream("in", Consumed.with(Serdes.String(), Serdes.String()))
                .groupBy((k, v) -> v, Grouped.with("by-value", Serdes.String(), Serdes.String()))
                .count(Materialized.as("counts"))
                .toStream()
                .to("out", Produced.with(Serdes.String(), Serdes.Long()));
        TopologyDescription description = builder.build().describe();

        Map<String, NewTopic> topics = byName(InternalTopics.of(description,
                streams("app", Map.of(StreamsConfig.topicPrefix("max.message.bytes"), "123")), Set.of("in", "out"), 3));

        assertEquals(Set.of("app-by-value-repartition", "app-counts-changelog"), topics.keySet());
        NewTopic repartition = topics.get("app-by-value-repartition");
        assertEquals(3, repartition.numPartitions());
        assertEquals(Map.of("cleanup.policy", "delete", "segment.bytes", "52428800", "retention.ms", "-1",
                "message.timestamp.type", "CreateTime", "max.message.bytes", "123"), repartition.configs());
        NewTopic changelog = topics.get("app-counts-changelog");
        assertEquals(3, changelog.numPartitions());
        assertEquals(Map.of("cleanup.policy", "compact", "message.timestamp.type", "CreateTime",
                "max.message.bytes", "123"), changelog.configs());
        // replication: the broker's default, as Streams' own
        assertEquals(-1, changelog.replicationFactor());
    }

    @Test
    void theTopologyOfThePlannerHasSixRepartitionAndTwelveChangelogTopics() {
        ClientConfig config = ClientConfig.privatePipeline("broker:9092", new PipelineNames("team.", "team-"));
        PlannerService.Settings settings = PlannerService.Settings.of(config, Path.of("state"));
        Properties properties = PlannerService.properties(config, settings);
        List<NewTopic> topics = InternalTopics.of(PlannerTopology.build(config.topics(), new PlainAvroSerdes())
                .describe(), properties, Set.copyOf(config.names().topics()), 2);

        Map<String, NewTopic> byName = byName(topics);
        assertEquals(18, byName.size(), byName.keySet().toString());
        long repartition = byName.keySet().stream().filter(n -> n.endsWith("-repartition")).count();
        long changelog = byName.keySet().stream().filter(n -> n.endsWith("-changelog")).count();
        assertEquals(6, repartition);
        assertEquals(12, changelog);
        for (NewTopic t : topics) {
            assertTrue(t.name().startsWith("team-chainsync-planner-"), t.name()); // the application id of the prefix
            assertEquals(2, t.numPartitions());
            // records as large as the public topics'
            assertEquals(String.valueOf(TopicSetup.MAX_MESSAGE_BYTES), t.configs().get("max.message.bytes"));
        }
        for (String store : List.of(PlannerTopology.CHUNK_CONTEXTS, PlannerTopology.JOB_STATUS,
                PlannerTopology.COPY_PLAN_FINGERPRINTS, PlannerTopology.CHUNK_STATS)) {
            assertTrue(byName.containsKey("team-chainsync-planner-" + store + "-changelog"), store);
        }
    }

    @Test
    void refusesWhatItCannotDerive() {
        TopologyDescription description = new StreamsBuilder().build().describe();
        Properties noId = new Properties();
        assertThrows(IllegalArgumentException.class, () -> InternalTopics.of(description, noId, Set.of(), 1));
        assertThrows(IllegalArgumentException.class,
                () -> InternalTopics.of(description, streams("app", Map.of()), Set.of(), 0));

        StreamsBuilder byPattern = new StreamsBuilder();
        byPattern.stream(java.util.regex.Pattern.compile("in-.*")).to("out");
        assertThrows(IllegalArgumentException.class, () -> InternalTopics.of(byPattern.build().describe(),
                streams("app", Map.of()), Set.of("out"), 1));

        // a topic neither public nor a repartition one: not a name Streams would make
        StreamsBuilder unknown = new StreamsBuilder();
        unknown.stream("in").to("elsewhere");
        assertThrows(IllegalArgumentException.class, () -> InternalTopics.of(unknown.build().describe(),
                streams("app", Map.of()), Set.of("in"), 1));
    }
}
