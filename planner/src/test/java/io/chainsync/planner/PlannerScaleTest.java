package io.chainsync.planner;

import static io.chainsync.planner.TestLayers.JOB;
import static io.chainsync.planner.TestLayers.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.DecisionMode;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.TaskKind;
import io.chainsync.core.Extent;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.PlainAvroSerdes;
import io.chainsync.kafka.SerdeFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The planner's work per layer is linear in its chunks: every byte its stores and internal topics
 * serialize is counted (a per-layer record rewritten on every chunk would make this quadratic),
 * for a layer of 50 and of 200 chunks.
 */
class PlannerScaleTest {

    private static final PipelineTopics TOPICS = PipelineTopics.create(new PlainAvroSerdes());

    @TempDir
    Path stateDir;

    /** Counts the bytes every internal serde writes. */
    private static final class CountingSerdes implements SerdeFactory {
        final AtomicLong bytes = new AtomicLong();
        private final PlainAvroSerdes plain = new PlainAvroSerdes();

        @Override
        public <T extends SpecificRecord> Serde<T> serde(Class<T> type, boolean isKey) {
            Serde<T> inner = plain.serde(type, isKey);
            Serializer<T> counting = (topic, value) -> {
                byte[] out = inner.serializer().serialize(topic, value);
                bytes.addAndGet(out == null ? 0 : out.length);
                return out;
            };
            return Serdes.serdeFrom(counting, inner.deserializer());
        }
    }

    /** Bytes serialized by the planner's internal serdes for one layer of {@code chunks} 2 MiB chunks. */
    private long bytesFor(int chunks, Path dir) {
        CountingSerdes internal = new CountingSerdes();
        long size = chunks * 2 * MIB;
        try (TopologyTestDriver driver = new TopologyTestDriver(PlannerTopology.build(TOPICS, internal),
                PlannerDriver.properties(dir))) {
            TestInputTopic<ChunkKey, ChunkExtents> extents = driver.createInputTopic(TOPICS.extents().name(),
                    TOPICS.extents().keySerde().serializer(), TOPICS.extents().valueSerde().serializer());
            TestInputTopic<LayerKey, LayerScanned> scans = driver.createInputTopic(TOPICS.scans().name(),
                    TOPICS.scans().keySerde().serializer(), TOPICS.scans().valueSerde().serializer());
            TestLayers.Layer layer = new TestLayers.Layer(size, DecisionMode.BOTTOM_WITHOUT_DEPTH,
                    alternating(size), List.of(), null);
            for (ChunkExtents e : TestLayers.chunkRecords(layer, 0, 2 * MIB)) {
                extents.pipeInput(new ChunkKey(JOB, 0, e.getChunk()), e);
            }
            scans.pipeInput(new LayerKey(JOB, 0), TestLayers.scan(layer, 0, 1, 2 * MIB));
            Map<ChunkKey, ChunkPlan> plans = new java.util.HashMap<>();
            for (KeyValue<ChunkKey, ChunkPlan> kv : driver.createOutputTopic(TOPICS.plans().name(),
                    TOPICS.plans().keySerde().deserializer(), TOPICS.plans().valueSerde().deserializer())
                    .readKeyValuesToList()) {
                plans.put(kv.key, kv.value);
            }
            assertEquals(chunks, plans.size(), "one COPY plan per chunk");
            for (long c = 0; c < chunks; c++) {
                ChunkPlan p = plans.get(new ChunkKey(JOB, 0, c));
                assertEquals(TaskKind.COPY, p.getKind());
                // one 64 KiB data cluster per chunk: chunk c's first data index is c
                assertEquals(c, p.getRuns().stream().filter(r -> r.getFirstDataIndex() >= 0).findFirst()
                        .orElseThrow().getFirstDataIndex());
            }
        }
        return internal.bytes.get();
    }

    /** 64 KiB of data at the start of every 2 MiB, zeroes elsewhere. */
    private static List<Extent> alternating(long size) {
        List<Extent> out = new ArrayList<>();
        for (long at = 0; at < size; at += 2 * MIB) {
            out.add(new Extent(at, 64 * 1024, 0));
            out.add(new Extent(at + 64 * 1024, 2 * MIB - 64 * 1024, 3));
        }
        return out;
    }

    @Test
    void storeAndTopicBytesGrowLinearlyWithTheChunksOfALayer() throws Exception {
        long small = bytesFor(50, Files.createDirectories(stateDir.resolve("small")));
        long large = bytesFor(200, Files.createDirectories(stateDir.resolve("large")));
        double perChunkSmall = small / 50.0;
        double perChunkLarge = large / 200.0;
        // linear: the same bytes per chunk (within 10%); the per-layer aggregate of chunk stats this
        // replaced wrote ~60 bytes per chunk held on every update, 4x more per chunk at 4x the chunks
        assertTrue(perChunkLarge < perChunkSmall * 1.1, perChunkSmall + " then " + perChunkLarge + " bytes per chunk");
        assertTrue(perChunkLarge < 4096, perChunkLarge + " bytes per chunk");
        System.out.printf("planner bytes per chunk: %.0f at 50 chunks, %.0f at 200%n", perChunkSmall, perChunkLarge);
    }
}
