package io.chainsync.planner;

import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.SyncJob;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.PlainAvroSerdes;
import io.chainsync.kafka.Topic;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The planner's topology in a {@link TopologyTestDriver} (plain Avro serdes, no broker), with
 * the topics it reads and writes: what the planner's topology tests pipe into and read from.
 */
final class PlannerDriver implements AutoCloseable {

    static final PipelineTopics TOPICS = PipelineTopics.create(new PlainAvroSerdes());

    final TopologyTestDriver driver;
    final TestInputTopic<JobKey, SyncJob> jobs;
    final TestInputTopic<ChunkKey, ChunkExtents> extents;
    final TestInputTopic<LayerKey, LayerScanned> scans;
    final TestInputTopic<ChunkKey, ChunkResult> results;
    final TestOutputTopic<ChunkKey, ChunkPlan> plans;
    final TestOutputTopic<JobKey, JobStatus> status;

    /** The topology on state in {@code stateDir}, its wall clock at 1,000,000 ms. */
    PlannerDriver(Path stateDir) {
        driver = new TopologyTestDriver(PlannerTopology.build(TOPICS, new PlainAvroSerdes()), properties(stateDir),
                Instant.ofEpochMilli(1_000_000));
        jobs = input(TOPICS.jobs());
        extents = input(TOPICS.extents());
        scans = input(TOPICS.scans());
        results = input(TOPICS.results());
        plans = output(TOPICS.plans());
        status = output(TOPICS.status());
    }

    static Properties properties(Path stateDir) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "planner-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        return p;
    }

    private <K, V> TestInputTopic<K, V> input(Topic<K, V> topic) {
        return driver.createInputTopic(topic.name(), topic.keySerde().serializer(), topic.valueSerde().serializer());
    }

    private <K, V> TestOutputTopic<K, V> output(Topic<K, V> topic) {
        return driver.createOutputTopic(topic.name(), topic.keySerde().deserializer(),
                topic.valueSerde().deserializer());
    }

    @Override
    public void close() {
        driver.close();
    }
}
