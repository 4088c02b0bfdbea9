package io.chainsync.copier;

import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.Failures;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.Topic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state of every job as the planner last published it on {@code chainsync.status}, followed
 * by a background thread: a copier skips the tasks of a job that has ended (failed, or complete
 * and delivered again) and removes the temporary files of a failed one.
 */
final class JobStates implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(JobStates.class);

    private final Map<String, JobState> states = new ConcurrentHashMap<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Topic<JobKey, JobStatus> topic;
    private final Thread thread;
    private volatile boolean running = true;

    JobStates(ClientConfig config, PipelineTopics topics, String worker) {
        Properties p = config.properties();
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, worker + "-job-states");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.topic = topics.status();
        this.thread = new Thread(this::follow, worker + "-job-states");
        thread.setDaemon(true);
        thread.start();
    }

    /** The job's last published state, or null when none was seen. */
    JobState state(String job) {
        return states.get(job);
    }

    boolean failed(String job) {
        return state(job) == JobState.FAILED;
    }

    private void follow() {
        try {
            assign();
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    apply(r);
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                LOGGER.atError().setMessage("job states no longer followed").setCause(e).log();
            }
        } finally {
            consumer.close();
        }
    }

    private void assign() throws WakeupException {
        for (int attempt = 1; running; attempt++) {
            try {
                List<TopicPartition> partitions = new ArrayList<>();
                for (PartitionInfo info : consumer.partitionsFor(topic.name(), Duration.ofSeconds(30))) {
                    partitions.add(new TopicPartition(info.topic(), info.partition()));
                }
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                return;
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                if (!Failures.isTransient(e)) {
                    throw e;
                }
                sleep(attempt);
            }
        }
    }

    private void apply(ConsumerRecord<byte[], byte[]> r) {
        for (int attempt = 1; running; attempt++) {
            try {
                JobStatus status = r.value() == null ? null
                        : topic.valueSerde().deserializer().deserialize(r.topic(), r.headers(), r.value());
                if (status != null) {
                    states.put(status.getJob(), status.getState());
                }
                return;
            } catch (RuntimeException e) {
                if (!Failures.isTransient(e)) {
                    return; // an unreadable status says nothing about any job
                }
                sleep(attempt);
            }
        }
    }

    private void sleep(int attempt) {
        try {
            Thread.sleep(io.chainsync.kafka.Backoff.OUTAGE.delay(attempt).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
