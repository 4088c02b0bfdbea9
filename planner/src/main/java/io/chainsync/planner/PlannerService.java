package io.chainsync.planner;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.Failures;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import io.chainsync.kafka.PlainAvroSerdes;
import io.chainsync.kafka.TopicSetup;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link PlannerTopology} as a Kafka Streams application with exactly-once processing.
 * Building the topology ({@link PlannerTopology#build}), the client properties
 * ({@link #properties}) and the {@link KafkaStreams} instance ({@link #create}) are separate steps,
 * so the topology is tested without a broker.
 */
public final class PlannerService implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(PlannerService.class);

    /** The application id without a group prefix. */
    public static final String DEFAULT_APPLICATION_ID = io.chainsync.kafka.PipelineNames.PLANNER_APPLICATION;

    /**
     * The planner's own settings.
     *
     * @param applicationId the Streams application id (consumer group, internal topic prefix)
     * @param stateDir where local state stores live
     * @param threads stream threads
     */
    public record Settings(String applicationId, Path stateDir, int threads) {

        public Settings {
            if (applicationId == null || applicationId.isBlank()) {
                throw new IllegalArgumentException("application id must be given");
            }
            Objects.requireNonNull(stateDir, "stateDir");
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1: " + threads);
            }
        }

        public Settings(Path stateDir) {
            this(DEFAULT_APPLICATION_ID, stateDir, 1);
        }

        /** One stream thread, the application id of the config's names (its group prefix). */
        public static Settings of(ClientConfig config, Path stateDir) {
            return new Settings(config.names().plannerApplicationId(), stateDir, 1);
        }
    }

    private final KafkaStreams streams;
    private final Topology topology;
    private final Properties properties;
    private final Set<String> publicTopics;

    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile boolean failed;

    private PlannerService(Topology topology, Properties properties, Set<String> publicTopics) {
        this.topology = topology;
        this.properties = properties;
        this.publicTopics = publicTopics;
        this.streams = new KafkaStreams(topology, properties);
        // a stream thread that dies of a transient cause (registry away) is replaced and reads on;
        // anything else stops the client, and the service ends with an error, never lingers
        streams.setUncaughtExceptionHandler(e -> {
            if (Failures.isTransient(e)) {
                LOGGER.atWarn().setMessage("stream thread failed, replacing it").addKeyValue("reason",
                        Failures.reason(e)).log();
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            }
            LOGGER.atError().setMessage("planner stopped by an error").setCause(e).log();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.PENDING_ERROR) {
                failed = true;
                ended.countDown();
            } else if (now == KafkaStreams.State.NOT_RUNNING) {
                ended.countDown();
            }
        });
    }

    /**
     * Waits until the planner has stopped; true when it stopped because of an error (the process
     * must then exit non-zero, so that a supervisor restarts it).
     */
    public boolean awaitEnd() throws InterruptedException {
        ended.await();
        return failed;
    }

    /** The planner on the pipeline's public topics (registry serdes), internal state in plain Avro. */
    public static PlannerService create(ClientConfig config, Settings settings) {
        return create(PlannerTopology.build(config.topics(), new PlainAvroSerdes()), config, settings);
    }

    /** A planner running the given topology (e.g. one built on other serdes). */
    public static PlannerService create(Topology topology, ClientConfig config, Settings settings) {
        return new PlannerService(topology, properties(config, settings), Set.copyOf(config.names().topics()));
    }

    /**
     * Asks the broker to create this planner's internal topics ({@link InternalTopics}) before it starts, so that
     * its first rebalance finds them made instead of making them and waiting for them. Only for a pipeline whose
     * topics the planner reads all have {@code partitions} partitions (the caller made them so). Returns at once:
     * the future ends when the broker has answered. A failure costs only the time it would have saved: Streams
     * makes whatever is missing itself, and one that exists already is left as it is.
     */
    public KafkaFuture<Void> createInternalTopics(Admin admin, int partitions) {
        List<NewTopic> topics = InternalTopics.of(topology.describe(), properties, publicTopics, partitions);
        return admin.createTopics(topics).all();
    }

    /** The Streams properties: made here, at the client boundary, and nowhere else. */
    public static Properties properties(ClientConfig config, Settings settings) {
        Properties p = config.properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, settings.applicationId());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, settings.stateDir().toString());
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, settings.threads());
        // extent, decision and plan records of fragmented chunks can be large (as on the public topics)
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), TopicSetup.MAX_MESSAGE_BYTES);
        p.put(StreamsConfig.topicPrefix("max.message.bytes"), String.valueOf(TopicSetup.MAX_MESSAGE_BYTES));
        // latency: a job's records cross the planner's sub-topologies about eight times (docs/design.md,
        // "Latency of a job"), each hop a transaction apart, read by a read_committed consumer: a commit every
        // 20 ms (Streams' default under exactly-once is 100), no record cache holding updates back until it,
        // no linger before a send, and a fetch the broker answers within 10 ms even when nothing came (it did
        // not answer at once when a transaction commit made records readable): an empty layer's job went from
        // about 1.06 s to 0.57 s between submission and its final status
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 20);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 0);
        p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), 10);
        // and a stream thread that blocks at most 10 ms in poll (Streams' default is 100): a task's output becomes
        // readable only with the commit that follows it, and a thread with nothing else to read waited in poll
        // before it came to commit, a hop of 100-120 ms on every sub-topology boundary that was otherwise quiet:
        // an empty layer's job 0.75-1.08 s (median 0.84) before, 0.27-0.48 s after; the idle planner's CPU the same
        p.put(StreamsConfig.POLL_MS_CONFIG, 10);
        // restoring a store reads its changelog to the end: an empty or caught-up changelog's fetch returned only
        // after fetch.max.wait.ms (500 ms), several times over on the first start (planner running 0.5-1 s later)
        p.put(StreamsConfig.restoreConsumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), 10);
        // unreadable records are set aside, never stop the planner (docs/design.md §3, "Faults")
        p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterOrWait.class.getName());
        p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, config.names().deadLetters());
        // streams.X=V from --kafka-config wins over the above, except what correctness depends on
        io.chainsync.kafka.ClientOverrides.apply(p, config.extra(), io.chainsync.kafka.ClientOverrides.STREAMS);
        return p;
    }

    public void start() {
        LOGGER.atInfo().setMessage("starting planner").addKeyValue("state", streams.state()).log();
        streamsMetrics = io.chainsync.kafka.ServiceMetrics.bind(streams);
        streams.start();
    }

    private volatile AutoCloseable streamsMetrics;

    /** Ready while the Streams client is RUNNING (not while it rebalances, restores or has stopped). */
    public boolean ready() {
        return streams.state() == KafkaStreams.State.RUNNING;
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    /** Waits until the planner is RUNNING; false on timeout or when it stopped or failed instead. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        return awaitRunning(streams, timeout);
    }

    public static boolean awaitRunning(KafkaStreams streams, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            KafkaStreams.State state = streams.state();
            if (state == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.NOT_RUNNING
                    || state == KafkaStreams.State.PENDING_SHUTDOWN || state == KafkaStreams.State.PENDING_ERROR) {
                return false;
            }
            Thread.sleep(50);
        }
        return streams.state() == KafkaStreams.State.RUNNING;
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(30));
        AutoCloseable m = streamsMetrics;
        if (m != null) {
            try {
                m.close();
            } catch (Exception ignored) {
                // metrics only
            }
        }
        ended.countDown();
    }
}
