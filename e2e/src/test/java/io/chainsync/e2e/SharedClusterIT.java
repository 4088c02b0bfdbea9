package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.LayerStatus;
import io.chainsync.avro.SyncJob;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.jobs.StatusReader;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.DeadLetters;
import io.chainsync.kafka.PipelineNames;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.PlainAvroSerdes;
import io.chainsync.kafka.RegistryHttp;
import io.chainsync.kafka.SchemaContract;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Scenarios;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two pipelines on one broker and registry, told apart only by their topic and group prefixes
 * (docs/operations.md, "Topics and groups"): each completes its own job — the same job id in
 * both, with other layers and another destination root — and neither creates, reads or joins
 * the other's topics or groups. Without the prefixes the second job would be refused as a reused
 * id and the copiers of either pipeline would take the other's chunks.
 */
class SharedClusterIT {

    private static final PipelineNames TEAM_A = new PipelineNames("team-a.", "team-a-");
    private static final PipelineNames TEAM_B = new PipelineNames("team-b.", "team-b-");
    private static final String JOB = "shared-cluster-job";

    @TempDir
    Path tmp;

    @Test
    @Timeout(600)
    void twoPrefixedPipelinesShareABrokerWithoutMeeting() throws Exception {
        try (LocalStack stack = LocalStack.start(tmp.resolve("stack"))) {
            ClientConfig base = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
            ClientConfig a = base.withNames(TEAM_A);
            ClientConfig b = base.withNames(TEAM_B);
            Path rootA = Files.createDirectories(tmp.resolve("root-a"));
            Path rootB = Files.createDirectories(tmp.resolve("root-b"));
            Chain chainA = Scenarios.SEED_RAW.build(tmp.resolve("src-a"));
            Chain chainB = Scenarios.THREE_LAYERS.build(tmp.resolve("src-b"));
            try (EmbeddedPipeline pipelineA = EmbeddedPipeline.start(a, tmp.resolve("planner-a"), rootA, 1, 2);
                 EmbeddedPipeline pipelineB = EmbeddedPipeline.start(b, tmp.resolve("planner-b"), rootB, 1, 3)) {
                JobStatus statusA = run(a, chainA);
                JobStatus statusB = run(b, chainB);
                assertEquals(JobState.COMPLETE, statusA.getState(), String.valueOf(statusA));
                assertEquals(JobState.COMPLETE, statusB.getState(), String.valueOf(statusB));
                // a record of another schema on A's internal plans topic: set aside on A's dead letters,
                // the reason naming the fingerprint it carries
                String reason = deadLettered(a, ChunkKey.getEncoder().encode(new ChunkKey(JOB, 9, 9L)).array());
                String foreign = HexFormat.of().toHexDigits(PlainAvroSerdes.fingerprint(ChunkKey.getClassSchema()));
                assertTrue(reason.contains("fingerprint " + foreign) && reason.contains("ChunkPlan"), reason);
                assertTrue(pipelineA.healthy() && pipelineB.healthy());
            }
            ChainJudge.assertExact(chainA, rootA.resolve("vm"));
            ChainJudge.assertExact(chainB, rootB.resolve("vm"));

            // each status topic knows only its own pipeline's job
            assertEquals(chainA.names(), layerNames(StatusReader.latest(a, a.topics()).get(JOB)));
            assertEquals(chainB.names(), layerNames(StatusReader.latest(b, b.topics()).get(JOB)));
            assertEquals(1, StatusReader.latest(a, a.topics()).size());

            try (Admin admin = Admin.create(base.adminProperties())) {
                Set<String> topics = admin.listTopics().names().get();
                for (PipelineNames names : List.of(TEAM_A, TEAM_B)) {
                    assertTrue(topics.containsAll(names.topics()), names + " " + topics);
                }
                // every topic is one pipeline's: its own (topic prefix) or its planner's (application id)
                for (String topic : topics) {
                    assertTrue(topic.startsWith("__") || topic.startsWith("team-a.") || topic.startsWith("team-b.")
                            || topic.startsWith(TEAM_A.plannerApplicationId() + "-")
                            || topic.startsWith(TEAM_B.plannerApplicationId() + "-"), "a topic of neither pipeline: " + topic);
                }
                assertEquals(2, admin.describeTopics(Set.of(TEAM_A.plans())).allTopicNames().get()
                        .get(TEAM_A.plans()).partitions().size());
                assertEquals(3, admin.describeTopics(Set.of(TEAM_B.plans())).allTopicNames().get()
                        .get(TEAM_B.plans()).partitions().size());
                Set<String> groups = new TreeSet<>();
                for (GroupListing g : admin.listGroups().all().get()) {
                    groups.add(g.groupId());
                }
                assertEquals(new TreeSet<>(List.of(TEAM_A.scannerGroup(), TEAM_A.copierGroup(),
                        TEAM_A.plannerApplicationId(), TEAM_B.scannerGroup(), TEAM_B.copierGroup(),
                        TEAM_B.plannerApplicationId())), groups);
            }

            // the registry holds the public subjects of both pipelines, and nothing internal
            Set<String> expected = new TreeSet<>(SchemaContract.subjects(TEAM_A).keySet());
            expected.addAll(SchemaContract.subjects(TEAM_B).keySet());
            assertEquals(expected, artifacts(base));
        }
    }

    /** Serves the chain, produces its job to the pipeline's jobs topic as any producer would, waits. */
    private JobStatus run(ClientConfig config, Chain chain) throws Exception {
        PipelineTopics topics = config.topics();
        Path sockets = Files.createDirectories(tmp.resolve("s-" + config.names().topicPrefix()));
        try (ServedChain servers = new ServedChain(chain, sockets)) {
            List<LayerSource> layers = new ArrayList<>();
            servers.uris().forEach((name, uri) -> layers.add(new LayerSource(name, uri)));
            SyncJob job = SyncJob.newBuilder().setJob(JOB).setLayers(layers).setDest("vm").setClusterSize(null)
                    .setDirtyBitmap(null).setChunkSize(2L << 20).setSubmittedAt(Instant.now()).build();
            try (KafkaProducer<JobKey, SyncJob> producer = new KafkaProducer<>(config.properties(),
                    topics.jobs().keySerde().serializer(), topics.jobs().valueSerde().serializer())) {
                producer.send(new ProducerRecord<>(topics.jobs().name(), new JobKey(JOB), job)).get();
            }
            return Jobs.await(config, topics, JOB, Duration.ofSeconds(180), s -> { })
                    .orElseThrow(() -> new AssertionError("the job of " + config.names() + " did not end"));
        }
    }

    /** Produces the bytes as a plan (a valid key) and returns the reason of its dead letter. */
    private static String deadLettered(ClientConfig config, byte[] value) throws Exception {
        PipelineTopics topics = config.topics();
        byte[] key = topics.plans().keySerde().serializer().serialize(topics.plans().name(), new ChunkKey(JOB, 9, 9L));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config.properties(),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topics.plans().name(), key, value)).get();
        }
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config.properties(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(config.names().deadLetters(), Duration.ofSeconds(10))
                    .forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    Header topic = r.headers().lastHeader(DeadLetters.HEADER_TOPIC);
                    if (topic != null && topics.plans().name().equals(new String(topic.value(), StandardCharsets.UTF_8))) {
                        return new String(r.headers().lastHeader(DeadLetters.HEADER_REASON).value(),
                                StandardCharsets.UTF_8);
                    }
                }
            }
        }
        throw new AssertionError("nothing from " + topics.plans().name() + " on " + config.names().deadLetters());
    }

    private static List<String> layerNames(JobStatus status) {
        return status.getLayers().stream().map(LayerStatus::getName).toList();
    }

    /** Every artifact id in the registry, in any group. */
    private static Set<String> artifacts(ClientConfig config) throws Exception {
        RegistryHttp http = RegistryHttp.of(config, Duration.ofSeconds(10));
        HttpResponse<String> r = http.client().send(http.request("/search/artifacts?limit=1000").GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        Set<String> ids = new TreeSet<>();
        Matcher m = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"").matcher(r.body());
        while (m.find()) {
            ids.add(m.group(1));
        }
        return ids;
    }
}
