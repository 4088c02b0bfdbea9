package io.chainsync.planner;

import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.PlainAvroSerdes;

import io.chainsync.avro.ChunkContexts;
import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.DecisionMode;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerScanned;
import io.chainsync.core.MetaContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * Not a test: how fast the planner decides a fragmented layer. A 4 GiB layer in 64 MiB chunks,
 * base:allocation alternating 4 KiB data / 4 KiB zero (1,048,576 extents), allocation-depth 8 KiB
 * local / 4 KiB absent (~700,000 extents): once through the pure functions, once through the
 * topology in a {@link TopologyTestDriver} (plain Avro serdes, in-memory broker-less driver).
 *
 * <p>Run: {@code java -cp pipeline/target/test-classes:pipeline/target/classes:<test classpath>
 * io.chainsync.planner.PlannerBenchmark [sizeGiB] [chunkMiB]}
 */
public final class PlannerBenchmark {

    private static final long KIB = 1024;

    private PlannerBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        long size = (args.length > 0 ? Long.parseLong(args[0]) : 4) << 30;
        long chunkSize = (args.length > 1 ? Long.parseLong(args[1]) : 64) << 20;
        long chunkCount = (size + chunkSize - 1) / chunkSize;
        List<ChunkExtents> records = new ArrayList<>();
        long extents = 0;
        for (long c = 0; c < chunkCount; c++) {
            long start = c * chunkSize;
            long end = Math.min(start + chunkSize, size);
            ChunkExtents base = base(c, start, end);
            ChunkExtents depth = depth(c, start, end);
            records.add(base);
            records.add(depth);
            extents += base.getLengths().size() + depth.getLengths().size();
        }
        LayerScanned scan = LayerScanned.newBuilder().setJob("bench").setLayer(0).setLayerCount(1)
                .setName("bench.qcow2").setUri("nbd://bench").setDest("out").setSize(size).setChunkSize(chunkSize)
                .setChunkCount(chunkCount).setOffered(contexts()).setMode(DecisionMode.ALLOCATION_DEPTH)
                .setExtentCount(extents).build();
        System.out.printf("layer %d GiB, %d chunks of %d MiB, %,d extents%n", size >> 30, chunkCount,
                chunkSize >> 20, extents);
        for (int round = 1; round <= 2; round++) {
            pure(records, scan, extents, round);
            driver(records, scan, extents, round);
        }
    }

    private static void pure(List<ChunkExtents> records, LayerScanned scan, long extents, int round) {
        long t0 = System.nanoTime();
        List<ChunkDecided> decided = new ArrayList<>();
        TestLayers.Chunks chunks = new TestLayers.Chunks();
        for (int i = 0; i < records.size(); i += 2) {
            ChunkContexts contexts = ChunkDecider.add(ChunkDecider.add(ChunkDecider.emptyContexts(), records.get(i)),
                    records.get(i + 1));
            ChunkDecided d = ChunkDecider.decide(contexts);
            decided.add(d);
            chunks.add(ChunkDecider.stats(d));
        }
        LayerLayout layout = chunks.plan(scan);
        long runs = 0;
        for (ChunkDecided d : decided) {
            runs += ChunkPlanner.copyPlan(d, chunks.place(layout, d.getChunk())).getRuns().size();
        }
        report("pure functions", round, extents, t0, "cluster bits " + layout.getClusterBits() + ", "
                + layout.getDataClusters() + " data clusters, " + runs + " runs");
    }

    private static void driver(List<ChunkExtents> records, LayerScanned scan, long extents, int round)
            throws Exception {
        PipelineTopics topics = PipelineTopics.create(new PlainAvroSerdes());
        Path state = Files.createTempDirectory("planner-bench");
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "planner-bench");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        long t0 = System.nanoTime();
        try (TopologyTestDriver driver = new TopologyTestDriver(PlannerTopology.build(topics, new PlainAvroSerdes()),
                p)) {
            TestInputTopic<ChunkKey, ChunkExtents> in = driver.createInputTopic(topics.extents().name(),
                    topics.extents().keySerde().serializer(), topics.extents().valueSerde().serializer());
            TestInputTopic<LayerKey, LayerScanned> scans = driver.createInputTopic(topics.scans().name(),
                    topics.scans().keySerde().serializer(), topics.scans().valueSerde().serializer());
            TestOutputTopic<ChunkKey, ChunkPlan> plans = driver.createOutputTopic(topics.plans().name(),
                    topics.plans().keySerde().deserializer(), topics.plans().valueSerde().deserializer());
            for (ChunkExtents r : records) {
                in.pipeInput(new ChunkKey(r.getJob(), r.getLayer(), r.getChunk()), r);
            }
            scans.pipeInput(new LayerKey(scan.getJob(), scan.getLayer()), scan);
            long n = plans.getQueueSize();
            plans.readValuesToList();
            report("TopologyTestDriver", round, extents, t0, n + " plans");
        }
    }

    private static void report(String what, int round, long extents, long t0, String detail) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("round %d %-20s %6.2f s  %,12.0f extents/s  (%s)%n", round, what, seconds,
                extents / seconds, detail);
    }

    private static List<String> contexts() {
        return List.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
    }

    /** 4 KiB data, 4 KiB zero, repeating. */
    private static ChunkExtents base(long chunk, long start, long end) {
        List<Long> lengths = new ArrayList<>();
        List<Integer> flags = new ArrayList<>();
        for (long pos = start; pos < end; pos += 4 * KIB) {
            lengths.add(Math.min(4 * KIB, end - pos));
            flags.add((pos / (4 * KIB)) % 2 == 0 ? 0 : MetaContexts.STATE_HOLE | MetaContexts.STATE_ZERO);
        }
        return record(chunk, MetaContexts.BASE_ALLOCATION, start, end, lengths, flags);
    }

    /** 8 KiB local, 4 KiB absent, repeating (clipped to the chunk). */
    private static ChunkExtents depth(long chunk, long start, long end) {
        List<Long> lengths = new ArrayList<>();
        List<Integer> flags = new ArrayList<>();
        long period = 12 * KIB;
        long pos = start;
        while (pos < end) {
            long periodStart = pos - pos % period;
            boolean local = pos - periodStart < 8 * KIB;
            long next = Math.min(local ? periodStart + 8 * KIB : periodStart + period, end);
            lengths.add(next - pos);
            flags.add(local ? MetaContexts.DEPTH_LOCAL : MetaContexts.DEPTH_ABSENT);
            pos = next;
        }
        return record(chunk, MetaContexts.ALLOCATION_DEPTH, start, end, lengths, flags);
    }

    private static ChunkExtents record(long chunk, String context, long start, long end, List<Long> lengths,
                                       List<Integer> flags) {
        return new ChunkExtents("bench", 0, chunk, context, DecisionMode.ALLOCATION_DEPTH, contexts(), start, end,
                lengths, flags, 0);
    }
}
