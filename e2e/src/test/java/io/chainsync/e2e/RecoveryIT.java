package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.SyncJob;
import io.chainsync.copier.CopierService;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.StatusReader;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.TopicSetup;
import io.chainsync.stack.KafkaBroker;
import io.chainsync.stack.SchemaRegistry;
import io.chainsync.e2e.PipelineStack.ServedChain;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
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

    private ServedChain serve(Chain chain) throws Exception {
        return ServedChain.serve(chain, tmp.resolve("s-" + UUID.randomUUID().toString().substring(0, 8)));
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
            ServedChain served = serve(chain);
            String id = UUID.randomUUID().toString();
            // the record as any producer made it while the registry was up
            SyncJob job = PipelineStack.job(id, served.layers(), "registry-away");
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
                        || PipelineStack.names(destRoot.resolve("registry-away")).isEmpty(),
                        "written without the registry?");
                assertTrue(pipeline.healthy(), "a service gave up while the registry was away");
                registry = SchemaRegistry.start(rs.withPort(port));
                JobStatus status = PipelineStack.await(config, id, Duration.ofSeconds(240));
                assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                ChainJudge.assertExact(chain, destRoot.resolve("registry-away"));
            } finally {
                registry.close();
                served.close();
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
            List<ServedChain> served = new ArrayList<>();
            Map<String, byte[]> before = new HashMap<>();
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 2, 4)) {
                for (var entry : Map.of("seed", seed, "three", three).entrySet()) {
                    served.add(serve(entry.getValue()));
                    String id = UUID.randomUUID().toString();
                    PipelineStack.produce(config, PipelineStack.job(id, served.get(served.size() - 1).layers(),
                            entry.getKey()));
                    JobStatus status = PipelineStack.await(config, id, Duration.ofSeconds(120));
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
                served.forEach(ServedChain::close);
            }
            ChainJudge.assertExact(seed, destRoot.resolve("seed"));
            ChainJudge.assertExact(three, destRoot.resolve("three"));
            for (var e : before.entrySet()) {
                assertTrue(java.util.Arrays.equals(e.getValue(), Files.readAllBytes(Path.of(e.getKey()))),
                        e.getKey() + " was rewritten");
            }
            for (String dir : List.of("seed", "three")) {
                for (String name : PipelineStack.names(destRoot.resolve(dir))) {
                    assertTrue(!name.startsWith("."), "left behind in " + dir + ": " + name);
                }
            }
        }
    }
}
