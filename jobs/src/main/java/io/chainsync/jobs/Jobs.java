package io.chainsync.jobs;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.JobFingerprint;
import io.chainsync.kafka.JobStatusView;
import io.chainsync.kafka.KafkaClients;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.scanner.JobSpec;

import io.chainsync.avro.JobCommand;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.SyncJob;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/** Submitting jobs to {@code chainsync.jobs} and following their status. */
public final class Jobs {

    /** A job that must not run: its id names another job, or its destination is held. */
    public static final class JobRefusedException extends IllegalArgumentException {
        public JobRefusedException(String message) {
            super(message);
        }
    }

    private Jobs() {
    }

    /**
     * Produces the job; returns once the broker acknowledged it. Refused before anything is
     * produced when the job id is already used by another job (the same job again is fine) or
     * when a running job holds the destination.
     *
     * @throws JobRefusedException naming the reason
     */
    public static void submit(ClientConfig config, PipelineTopics topics, JobSpec job)
            throws InterruptedException, ExecutionException {
        SyncJob record = job.toRecord(Instant.now());
        try (JobStatusView statuses = caughtUp(config, topics)) {
            JobStatus known = statuses.status(job.job());
            if (known != null && known.getFingerprint() != null
                    && !known.getFingerprint().equals(JobFingerprint.of(record))) {
                throw new JobRefusedException("job id " + job.job() + " is already used by another job");
            }
            refuseHeldDestination(statuses, job.dest(), job.job());
        }
        produce(config, topics, record);
    }

    /**
     * Runs a FAILED (or cancelled) job again as its next attempt: its spec, as its status carries
     * it, produced again with {@code attempt + 1} (docs/design.md §3, "Faults": job control).
     *
     * @return the new attempt
     * @throws JobRefusedException when the job is unknown, has not failed, or its destination is held
     */
    public static int retry(ClientConfig config, PipelineTopics topics, String jobId)
            throws InterruptedException, ExecutionException {
        SyncJob record;
        try (JobStatusView statuses = caughtUp(config, topics)) {
            JobStatus known = controllable(statuses, jobId);
            if (known.getState() != JobState.FAILED) {
                throw new JobRefusedException("job " + jobId + " is " + known.getState()
                        + ": only a failed or cancelled job can be retried");
            }
            refuseHeldDestination(statuses, known.getSpec().getDest(), jobId);
            record = SyncJob.newBuilder(known.getSpec()).setAttempt(known.getAttempt() + 1)
                    .setCommand(JobCommand.RUN).setSubmittedAt(Instant.now()).build();
        }
        produce(config, topics, record);
        return record.getAttempt();
    }

    /**
     * Cancels a job's current attempt: a CANCEL record of that attempt on {@code chainsync.jobs};
     * the planner makes the job FAILED ("cancelled"), the copiers skip its tasks and remove its
     * temporary files.
     *
     * @return the attempt cancelled
     * @throws JobRefusedException when the job is unknown or has already ended
     */
    public static int cancel(ClientConfig config, PipelineTopics topics, String jobId)
            throws InterruptedException, ExecutionException {
        SyncJob record;
        try (JobStatusView statuses = caughtUp(config, topics)) {
            JobStatus known = controllable(statuses, jobId);
            if (JobStatusView.ended(known.getState())) {
                throw new JobRefusedException("job " + jobId + " has already ended (" + known.getState()
                        + "): nothing to cancel");
            }
            record = SyncJob.newBuilder(known.getSpec()).setAttempt(known.getAttempt())
                    .setCommand(JobCommand.CANCEL).setSubmittedAt(Instant.now()).build();
        }
        produce(config, topics, record);
        return record.getAttempt();
    }

    /** The status of a job that retry or cancel can act on: known, with its spec. */
    private static JobStatus controllable(JobStatusView statuses, String jobId) {
        JobStatus known = statuses.status(jobId);
        if (known == null) {
            throw new JobRefusedException("no status for job " + jobId);
        }
        if (known.getSpec() == null) {
            throw new JobRefusedException("the status of job " + jobId
                    + " does not carry the job (submitted by an older chainsync): submit it again instead");
        }
        return known;
    }

    private static void refuseHeldDestination(JobStatusView statuses, String dest, String jobId) {
        Optional<String> holder = statuses.holderOf(dest, jobId);
        if (holder.isPresent()) {
            throw new JobRefusedException("destination " + dest + " is held by running job " + holder.get());
        }
    }

    private static JobStatusView caughtUp(ClientConfig config, PipelineTopics topics)
            throws InterruptedException, ExecutionException {
        JobStatusView statuses = new JobStatusView(config, topics, "chainsync-submit");
        if (!statuses.awaitCaughtUp(Duration.ofSeconds(30))) {
            statuses.close();
            throw new ExecutionException(new java.util.concurrent.TimeoutException(
                    "cannot read " + topics.status().name() + " at " + config.bootstrapServers()));
        }
        return statuses;
    }

    private static void produce(ClientConfig config, PipelineTopics topics, SyncJob record)
            throws InterruptedException, ExecutionException {
        try (KafkaProducer<JobKey, SyncJob> producer = KafkaClients.producer(config, topics.jobs(), "chainsync-submit")) {
            producer.send(new ProducerRecord<>(topics.jobs().name(), new JobKey(record.getJob()), record)).get();
        }
    }

    /**
     * Follows {@code chainsync.status} until the job is COMPLETE or FAILED, calling
     * {@code onUpdate} with every status seen.
     *
     * @return the final status, or empty on timeout
     */
    public static Optional<JobStatus> await(ClientConfig config, PipelineTopics topics, String jobId, Duration timeout,
                                            Consumer<JobStatus> onUpdate) {
        return await(config, topics, jobId, 0, timeout, onUpdate);
    }

    /** As {@link #await(ClientConfig, PipelineTopics, String, Duration, Consumer)}, for an attempt of the job or a later one. */
    public static Optional<JobStatus> await(ClientConfig config, PipelineTopics topics, String jobId, int attempt,
                                            Duration timeout, Consumer<JobStatus> onUpdate) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<JobKey, JobStatus> consumer = statusConsumer(config, topics)) {
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<JobKey, JobStatus> r : consumer.poll(Duration.ofMillis(200))) {
                    JobStatus status = r.value();
                    if (status == null || !jobId.equals(status.getJob()) || status.getAttempt() < attempt) {
                        continue;
                    }
                    onUpdate.accept(status);
                    if (status.getState() == JobState.COMPLETE || status.getState() == JobState.FAILED) {
                        return Optional.of(status);
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** A group-less consumer reading the whole status topic from the beginning. */
    static KafkaConsumer<JobKey, JobStatus> statusConsumer(ClientConfig config, PipelineTopics topics) {
        Properties p = config.properties();
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        KafkaConsumer<JobKey, JobStatus> consumer = new KafkaConsumer<>(p, topics.status().keySerde().deserializer(),
                topics.status().valueSerde().deserializer());
        List<TopicPartition> partitions = new ArrayList<>();
        for (PartitionInfo info : consumer.partitionsFor(topics.status().name(), Duration.ofSeconds(30))) {
            partitions.add(new TopicPartition(info.topic(), info.partition()));
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        return consumer;
    }
}
