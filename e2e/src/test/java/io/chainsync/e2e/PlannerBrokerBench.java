package io.chainsync.e2e;

import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.DecisionMode;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.TaskKind;
import io.chainsync.core.MetaContexts;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.KafkaClients;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.TopicSetup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Measurement, not a test (bench/pipeline.sh runs it): how long the planner, against the real
 * broker and registry, takes to plan one layer of {@code N} million extents per context (alternating
 * 4 KiB data and zero, all local: the many-extent layer of issue 9), in chunks as the scanner cuts
 * them ({@link TopicSetup#MAX_CHUNK_EXTENTS} extents per context). Prints the seconds from the first
 * extents record produced to the last COPY plan read.
 *
 * <p>Usage: {@code PlannerBrokerBench BOOTSTRAP REGISTRY [MILLION_EXTENTS_PER_CONTEXT]} (default 16),
 * against a running broker, registry and planner ({@code chainsync stack}, {@code chainsync planner},
 * each a process of its own, as bench/pipeline.sh starts them).
 */
public final class PlannerBrokerBench {

    private PlannerBrokerBench() {
    }

    public static void main(String[] args) throws Exception {
        long perContext = (args.length > 2 ? Long.parseLong(args[2]) : 16) * 1_000_000L;
        int max = TopicSetup.MAX_CHUNK_EXTENTS;
        long unit = 4096;
        long chunkCount = (perContext + max - 1) / max;
        long size = perContext * unit;
        {
            ClientConfig config = new ClientConfig(args[0], args[1]);
            PipelineTopics topics = config.topics();
            TopicSetup.ensure(config, 4, (short) 1);
            try (KafkaProducer<ChunkKey, ChunkExtents> extents = KafkaClients.producer(config, topics.extents(), "bench");
                 KafkaProducer<LayerKey, LayerScanned> scans = KafkaClients.producer(config, topics.scans(), "bench-s");
                 KafkaConsumer<ChunkKey, ChunkPlan> plans = planConsumer(config, topics)) {
                plans.subscribe(List.of(topics.plans().name()));
                plans.poll(Duration.ofSeconds(2));
                String job = "bench-" + System.currentTimeMillis();
                List<String> contexts = List.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
                long t0 = System.nanoTime();
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (long c = 0; c < chunkCount; c++) {
                    long first = c * max;
                    long n = Math.min(max, perContext - first);
                    long start = first * unit;
                    long end = start + n * unit;
                    List<Long> lengths = new ArrayList<>((int) n);
                    List<Integer> baseFlags = new ArrayList<>((int) n);
                    for (long i = 0; i < n; i++) {
                        lengths.add(unit);
                        baseFlags.add((first + i) % 2 == 0 ? 0 : MetaContexts.STATE_HOLE | MetaContexts.STATE_ZERO);
                    }
                    // the depth context: alternating local and absent too, offset by one extent
                    List<Long> depthLengths = new ArrayList<>((int) n);
                    List<Integer> depthFlags = new ArrayList<>((int) n);
                    for (long i = 0; i < n; i++) {
                        depthLengths.add(unit);
                        depthFlags.add(((first + i) / 2) % 2 == 0 ? MetaContexts.DEPTH_LOCAL : MetaContexts.DEPTH_ABSENT);
                    }
                    ChunkKey key = new ChunkKey(job, 0, c);
                    sent.add(extents.send(new ProducerRecord<>(topics.extents().name(), key, new ChunkExtents(job, 0, c,
                            MetaContexts.BASE_ALLOCATION, DecisionMode.ALLOCATION_DEPTH, contexts, start, end,
                            lengths, baseFlags, 0))));
                    sent.add(extents.send(new ProducerRecord<>(topics.extents().name(), key, new ChunkExtents(job, 0, c,
                            MetaContexts.ALLOCATION_DEPTH, DecisionMode.ALLOCATION_DEPTH, contexts, start, end,
                            depthLengths, depthFlags, 0))));
                }
                for (Future<RecordMetadata> f : sent) {
                    f.get();
                }
                double produced = (System.nanoTime() - t0) / 1e9;
                scans.send(new ProducerRecord<>(topics.scans().name(), new LayerKey(job, 0), LayerScanned.newBuilder()
                        .setJob(job).setLayer(0).setLayerCount(1).setName("many.qcow2").setUri("nbd://unused")
                        .setDest("out").setSize(size).setChunkSize(64L << 20).setChunkCount(chunkCount)
                        .setOffered(contexts).setMode(DecisionMode.ALLOCATION_DEPTH).setExtentCount(2 * perContext)
                        .setBackingName(null).setBackingFormat(null).setClusterSize(null).setError(null).build())).get();
                Set<Long> planned = new HashSet<>();
                long runs = 0;
                long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
                while (planned.size() < chunkCount && System.nanoTime() < deadline) {
                    for (ConsumerRecord<ChunkKey, ChunkPlan> r : plans.poll(Duration.ofSeconds(1))) {
                        if (r.value() != null && r.value().getJob().equals(job) && r.value().getKind() == TaskKind.COPY
                                && planned.add(r.value().getChunk())) {
                            runs += r.value().getRuns().size();
                        }
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                System.out.printf("planner-16M-extents %.2f s (%,d extents per context, %d chunks, %,d cluster runs,"
                        + " extents produced in %.2f s, %d of %d chunks planned)%n", seconds, perContext, chunkCount,
                        runs, produced, planned.size(), chunkCount);
            }
        }
    }

    private static KafkaConsumer<ChunkKey, ChunkPlan> planConsumer(ClientConfig config, PipelineTopics topics) {
        var p = config.properties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "planner-bench-" + System.nanoTime());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, TopicSetup.MAX_MESSAGE_BYTES);
        return new KafkaConsumer<>(p, topics.plans().keySerde().deserializer(), topics.plans().valueSerde().deserializer());
    }
}
