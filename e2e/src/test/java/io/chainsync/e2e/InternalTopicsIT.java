package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineNames;
import io.chainsync.kafka.PlainAvroSerdes;
import io.chainsync.kafka.TopicSetup;
import io.chainsync.planner.InternalTopics;
import io.chainsync.planner.PlannerService;
import io.chainsync.planner.PlannerTopology;
import io.chainsync.stack.LocalStack;
import io.chainsync.stack.KafkaBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The planner's internal topics made ahead ({@link InternalTopics}, what {@link EmbeddedPipeline} creates with the
 * public topics) are the ones Streams makes itself, against a real broker: the same names, partition counts and
 * settings. A planner started without them makes its own (under one prefix); a pipeline started with them
 * (under another) ends up with exactly the derived set, so Streams found nothing missing.
 */
class InternalTopicsIT {

    @TempDir
    Path tmp;

    @Test
    @Timeout(300)
    void theTopicsMadeAheadAreTheOnesStreamsMakes() throws Exception {
        try (KafkaBroker broker = LocalStack.ephemeralBroker(tmp.resolve("stack"))) {
            // Streams makes its own
            ClientConfig self = ClientConfig.privatePipeline(broker.bootstrapServers(), new PipelineNames("self.", "self-"));
            TopicSetup.ensure(self, 2, (short) 0);
            PlannerService.Settings settings = PlannerService.Settings.of(self, Files.createDirectories(tmp.resolve("p")));
            try (PlannerService planner = PlannerService.create(self, settings)) {
                planner.start();
                assertTrue(planner.awaitRunning(Duration.ofSeconds(120)), "the planner runs: " + planner.state());
            }
            Map<String, String> made = describe(self, settings.applicationId() + "-");
            List<NewTopic> derived = InternalTopics.of(PlannerTopology.build(self.topics(), new PlainAvroSerdes())
                    .describe(), PlannerService.properties(self, settings), Set.copyOf(self.names().topics()), 2);
            assertEquals(made, expected(derived, settings.applicationId() + "-"));

            // made ahead: Streams finds each and makes nothing more
            ClientConfig ahead = ClientConfig.privatePipeline(broker.bootstrapServers(), new PipelineNames("ahead.", "ahead-"));
            String prefix = ahead.names().plannerApplicationId() + "-";
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(ahead, tmp.resolve("p2"),
                    Files.createDirectories(tmp.resolve("root")), 1, 2, EnumSet.of(EmbeddedPipeline.Role.PLANNER))) {
                assertTrue(pipeline.ready(), "the pipeline's planner runs");
            }
            assertEquals(made, describe(ahead, prefix), "the same topics, settings and partitions under either prefix");
        }
    }

    /** Each topic under the prefix, without it, with its partition count and the settings it was created with. */
    private static Map<String, String> describe(ClientConfig config, String prefix) throws Exception {
        try (Admin admin = Admin.create(config.adminProperties())) {
            Set<String> names = admin.listTopics().names().get().stream().filter(n -> n.startsWith(prefix))
                    .collect(Collectors.toSet());
            Map<String, TopicDescription> topics = admin.describeTopics(names).allTopicNames().get();
            Map<ConfigResource, Config> configs = admin.describeConfigs(names.stream()
                    .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList()).all().get();
            Map<String, String> out = new TreeMap<>();
            for (String name : names) {
                Map<String, String> set = new TreeMap<>();
                for (ConfigEntry e : configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name)).entries()) {
                    if (e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                        set.put(e.name(), e.value());
                    }
                }
                out.put(name.substring(prefix.length()), topics.get(name).partitions().size() + " " + set);
            }
            return out;
        }
    }

    /** The derived topics in the form of {@link #describe}. */
    private static Map<String, String> expected(List<NewTopic> derived, String prefix) {
        Map<String, String> out = new TreeMap<>();
        for (NewTopic t : derived) {
            out.put(t.name().substring(prefix.length()), t.numPartitions() + " " + new TreeMap<>(t.configs()));
        }
        return out;
    }
}
