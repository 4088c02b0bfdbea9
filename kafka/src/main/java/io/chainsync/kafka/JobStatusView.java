package io.chainsync.kafka;

import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
 * Every job's status as the planner last published it on the compacted {@code chainsync.status},
 * followed by a background thread. Services use it to skip the tasks of ended jobs (copier), to
 * refuse a used job id or a destination held by a running job (scanner, submit).
 */
public final class JobStatusView implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(JobStatusView.class);

    private final Map<String, JobStatus> statuses = new ConcurrentHashMap<>();
    /** When the planner first reported each job (its first status' updatedAt): about when it was submitted. */
    private final Map<String, java.time.Instant> firstSeen = new ConcurrentHashMap<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Topic<JobKey, JobStatus> topic;
    private final Thread thread;
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private volatile boolean running = true;
    private final java.util.concurrent.CompletableFuture<?> ready;
    /** Who follows a job's statuses ({@link #follow}); guarded by itself, as is delivery to them. */
    private final List<Follower> followers = new ArrayList<>();

    private record Follower(String job, java.util.function.Consumer<JobStatus> onStatus) {
    }

    public JobStatusView(ClientConfig config, PipelineTopics topics, String clientId) {
        this(config, topics, clientId, java.util.concurrent.CompletableFuture.completedFuture(null));
    }

    /**
     * A view whose consumer is built now but reaches the broker only once {@code ready} completed
     * (e.g. the topics were made meanwhile); when {@code ready} fails, the view never reads and is
     * never caught up.
     */
    public JobStatusView(ClientConfig config, PipelineTopics topics, String clientId,
                         java.util.concurrent.CompletableFuture<?> ready) {
        this.ready = ready;
        Properties p = config.properties();
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-job-status");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.topic = topics.status();
        this.thread = new Thread(this::follow, clientId + "-job-status");
        thread.setDaemon(true);
        thread.start();
    }

    /** Whether a state is final: the job's tasks change nothing any more. */
    public static boolean ended(JobState state) {
        return state == JobState.COMPLETE || state == JobState.FAILED;
    }

    /** The job's last published status, or null when none was seen. */
    /** How many jobs this view knows in a state (for the jobs gauge). */
    public long count(io.chainsync.avro.JobState state) {
        return statuses.values().stream().filter(s -> s.getState() == state).count();
    }

    /** When the job's first status was written, if this view has seen one. */
    public java.util.Optional<java.time.Instant> firstSeen(String job) {
        return java.util.Optional.ofNullable(firstSeen.get(job));
    }

    public JobStatus status(String job) {
        return statuses.get(job);
    }

    /** The job's last published state, or null when none was seen. */
    public JobState state(String job) {
        JobStatus s = statuses.get(job);
        return s == null ? null : s.getState();
    }

    /** A job other than {@code job} that has not ended and writes to {@code dest}. */
    public Optional<String> holderOf(String dest, String job) {
        for (JobStatus s : statuses.values()) {
            if (!s.getJob().equals(job) && dest.equals(s.getDest()) && !ended(s.getState())) {
                return Optional.of(s.getJob());
            }
        }
        return Optional.empty();
    }

    /**
     * Hands {@code onStatus} the job's status as it stands (when one was seen), then every later
     * status of the job, in order, on the view's thread, until the returned handle is closed.
     * {@code onStatus} must be quick: it holds up the view.
     */
    public AutoCloseable follow(String job, java.util.function.Consumer<JobStatus> onStatus) {
        Follower follower = new Follower(job, onStatus);
        synchronized (followers) {
            JobStatus now = statuses.get(job);
            if (now != null) {
                onStatus.accept(now);
            }
            followers.add(follower);
        }
        return () -> {
            synchronized (followers) {
                followers.remove(follower);
            }
        };
    }

    /** Waits until the topic has been read up to its end as of the start (or the timeout passed). */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void follow() {
        try {
            if (!awaitReady()) {
                return;
            }
            List<TopicPartition> partitions = assign();
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    apply(r);
                }
                if (caughtUp.getCount() > 0 && partitions.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp))) {
                    caughtUp.countDown();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                LOGGER.atError().setMessage("job statuses no longer followed").setCause(e).log();
            }
        } finally {
            // no group, no commits: nothing to wait for
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ZERO));
        }
    }

    /** Whether {@code ready} completed normally; false when it failed or the view was closed first. */
    private boolean awaitReady() {
        while (running) {
            try {
                ready.get(200, TimeUnit.MILLISECONDS);
                return true;
            } catch (java.util.concurrent.TimeoutException e) {
                // still waiting: closing is checked again
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
                return false; // whoever made ready reports why
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    private List<TopicPartition> assign() {
        for (int attempt = 1; ; attempt++) {
            try {
                List<TopicPartition> partitions = new ArrayList<>();
                for (PartitionInfo info : consumer.partitionsFor(topic.name(), Duration.ofSeconds(30))) {
                    partitions.add(new TopicPartition(info.topic(), info.partition()));
                }
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                return partitions;
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                if (!Failures.isTransient(e) || !running) {
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
                    if (status.getUpdatedAt() != null) {
                        firstSeen.putIfAbsent(status.getJob(), status.getUpdatedAt());
                    }
                    synchronized (followers) {
                        statuses.put(status.getJob(), status);
                        for (Follower f : followers) {
                            if (f.job().equals(status.getJob())) {
                                f.onStatus().accept(status);
                            }
                        }
                    }
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
            Thread.sleep(Backoff.OUTAGE.delay(attempt).toMillis());
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
