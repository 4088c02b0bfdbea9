package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.SyncJob;
import io.chainsync.copier.CopierService;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.jobs.StatusReader;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.TopicSetup;
import io.chainsync.stack.KafkaBroker;
import io.chainsync.stack.SchemaRegistry;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recovery without losing work: the schema registry away for 30 s while a job is submitted, and
 * the copier group rewound to the earliest offset (every COPY and FINALIZE of finished jobs
 * delivered again).
 */
@Timeout(400)
class RecoveryIT {

    @TempDir
    Path tmp;

    private List<NbdServer> serve(Chain chain, List<LayerSource> out) throws Exception {
        Path sockets = Files.createDirectories(tmp.resolve("s-" + UUID.randomUUID().toString().substring(0, 8)));
        List<NbdServer> servers = new ArrayList<>();
        for (Layer layer : chain.layers()) {
            QemuNbdServer server = QemuNbdServer.serveLayer(layer, sockets);
            servers.add(server);
            out.add(new LayerSource(layer.name(), server.uri()));
        }
        return servers;
    }

    private static SyncJob job(String id, List<LayerSource> layers, String dest) {
        return SyncJob.newBuilder().setJob(id).setLayers(new ArrayList<>(layers)).setDest(dest).setClusterSize(null)
                .setDirtyBitmap(null).setChunkSize(2L << 20).setSubmittedAt(Instant.now()).build();
    }

    @Test
    void theRegistryAwayWhileAJobIsSubmittedDelaysItButLosesNothing() throws Exception {
        Chain chain = Scenarios.THREE_LAYERS.build(tmp.resolve("src"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        try (KafkaBroker broker = KafkaBroker.start(tmp.resolve("kafka"))) {
            SchemaRegistry.Settings rs = SchemaRegistry.Settings.defaults(tmp.resolve("registry"));
            SchemaRegistry registry = SchemaRegistry.start(rs);
            int port = registry.port();
            ClientConfig config = new ClientConfig(broker.bootstrapServers(), registry.url());
            PipelineTopics topics = config.topics();
            TopicSetup.ensure(config, 4, (short) 1);
            List<LayerSource> layers = new ArrayList<>();
            List<NbdServer> servers = serve(chain, layers);
            String id = UUID.randomUUID().toString();
            // the record as any producer made it while the registry was up
            SyncJob job = job(id, layers, "registry-away");
            byte[] key = topics.jobs().keySerde().serializer().serialize(PipelineTopics.JOBS, new JobKey(id));
            byte[] value = topics.jobs().valueSerde().serializer().serialize(PipelineTopics.JOBS, job);
            registry.close();
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 2, 4)) {
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config.properties(),
                        new ByteArraySerializer(), new ByteArraySerializer())) {
                    producer.send(new ProducerRecord<>(PipelineTopics.JOBS, key, value)).get();
                }
                Thread.sleep(30_000);
                // nothing could be decoded or written meanwhile, and nothing was skipped
                assertTrue(!Files.exists(destRoot.resolve("registry-away"))
                        || listNames(destRoot.resolve("registry-away")).isEmpty(), "written without the registry?");
                assertTrue(pipeline.healthy(), "a service gave up while the registry was away");
                registry = SchemaRegistry.start(rs.withPort(port));
                JobStatus status = Jobs.await(config, topics, id, Duration.ofSeconds(240), s -> { })
                        .orElseThrow(() -> new AssertionError("the job was lost"));
                assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                ChainJudge.assertExact(chain, destRoot.resolve("registry-away"));
            } finally {
                registry.close();
                servers.forEach(NbdServer::close);
            }
        }
    }

    @Test
    void theCopierGroupRewoundToTheEarliestOffsetChangesNoFinishedLayer() throws Exception {
        Chain seed = Scenarios.SEED_QCOW2.build(tmp.resolve("seed"));
        Chain three = Scenarios.THREE_LAYERS.build(tmp.resolve("three"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        try (KafkaBroker broker = KafkaBroker.start(tmp.resolve("kafka"));
             SchemaRegistry registry = SchemaRegistry.start(tmp.resolve("registry"))) {
            ClientConfig config = new ClientConfig(broker.bootstrapServers(), registry.url());
            PipelineTopics topics = config.topics();
            List<NbdServer> servers = new ArrayList<>();
            Map<String, byte[]> before = new HashMap<>();
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 2, 4)) {
                for (var entry : Map.of("seed", seed, "three", three).entrySet()) {
                    List<LayerSource> layers = new ArrayList<>();
                    servers.addAll(serve(entry.getValue(), layers));
                    String id = UUID.randomUUID().toString();
                    try (KafkaProducer<JobKey, SyncJob> producer = new KafkaProducer<>(config.properties(),
                            topics.jobs().keySerde().serializer(), topics.jobs().valueSerde().serializer())) {
                        producer.send(new ProducerRecord<>(PipelineTopics.JOBS, new JobKey(id),
                                job(id, layers, entry.getKey()))).get();
                    }
                    JobStatus status = Jobs.await(config, topics, id, Duration.ofSeconds(120), s -> { }).orElseThrow();
                    assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                }
                for (Chain c : List.of(seed, three)) {
                    Path dir = destRoot.resolve(c == seed ? "seed" : "three");
                    for (Layer l : c.layers()) {
                        before.put(dir.resolve(l.name()).toString(), Files.readAllBytes(dir.resolve(l.name())));
                    }
                }
            }
            // every service stopped: rewind the copier group to the beginning of chainsync.plans
            long plans;
            try (Admin admin = Admin.create(config.properties())) {
                Map<TopicPartition, OffsetAndMetadata> earliest = new HashMap<>();
                Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
                admin.describeTopics(List.of(PipelineTopics.PLANS)).allTopicNames().get().get(PipelineTopics.PLANS)
                        .partitions().forEach(p -> {
                            earliest.put(new TopicPartition(PipelineTopics.PLANS, p.partition()), new OffsetAndMetadata(0));
                            ends.put(new TopicPartition(PipelineTopics.PLANS, p.partition()), OffsetSpec.latest());
                        });
                admin.alterConsumerGroupOffsets(CopierService.GROUP, earliest).all().get();
                plans = admin.listOffsets(ends).all().get().values().stream().mapToLong(i -> i.offset()).sum();
            }
            assertNotEquals(0, plans);
            try (EmbeddedPipeline copiers = EmbeddedPipeline.start(config, tmp.resolve("unused"), destRoot, 2, 4,
                    EnumSet.of(EmbeddedPipeline.Role.COPIERS))) {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                StatusReader.Lag lag = StatusReader.copierLag(config, topics);
                while (lag.pending() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(500);
                    lag = StatusReader.copierLag(config, topics);
                }
                assertEquals(0, lag.pending(), "every plan delivered again: " + lag);
            } finally {
                servers.forEach(NbdServer::close);
            }
            ChainJudge.assertExact(seed, destRoot.resolve("seed"));
            ChainJudge.assertExact(three, destRoot.resolve("three"));
            for (var e : before.entrySet()) {
                assertTrue(java.util.Arrays.equals(e.getValue(), Files.readAllBytes(Path.of(e.getKey()))),
                        e.getKey() + " was rewritten");
            }
            for (String dir : List.of("seed", "three")) {
                for (String name : listNames(destRoot.resolve(dir))) {
                    assertTrue(!name.startsWith("."), "left behind in " + dir + ": " + name);
                }
            }
        }
    }

    private static List<String> listNames(Path dir) throws java.io.IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
