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
        try (Session session = Session.open(config, topics)) {
            session.submit(job);
        }
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
        try (Session session = Session.open(config, topics)) {
            return session.retry(jobId);
        }
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
        try (Session session = Session.open(config, topics)) {
            return session.cancel(jobId);
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
                    if (JobStatusView.ended(status.getState())) {
                        return Optional.of(status);
                    }
                }
            }
        }
        return Optional.empty();
    }

    /**
     * One client's way to the jobs: a view of every job's status, caught up with
     * {@code chainsync.status}, and a producer to {@code chainsync.jobs}, made side by side when
     * the session opens. A command submits (or retries) a job and then follows it through the
     * same view, instead of a client of its own for each step.
     */
    public static final class Session implements AutoCloseable {

        private final PipelineTopics topics;
        private final JobStatusView statuses;
        private final java.util.concurrent.CompletableFuture<KafkaProducer<JobKey, SyncJob>> producer;

        private Session(PipelineTopics topics, JobStatusView statuses,
                        java.util.concurrent.CompletableFuture<KafkaProducer<JobKey, SyncJob>> producer) {
            this.topics = topics;
            this.statuses = statuses;
            this.producer = producer;
        }

        /**
         * Opens the session: the producer is made (and learns the jobs topic's partitions) while
         * the view reads the status topic up to its end.
         *
         * @throws ExecutionException when the status topic cannot be read within 30 s
         */
        public static Session open(ClientConfig config, PipelineTopics topics)
                throws InterruptedException, ExecutionException {
            return open(config, topics, () -> { });
        }

        /**
         * Opens the session after {@code first}, a command's own first steps (asking whether the
         * broker and registry answer, making the topics), run on a thread of its own while the
         * clients are built: they reach the broker only once it returned. Building them is most of
         * a cold client's start (its classes, its configuration, its serializers).
         *
         * @throws RuntimeException what {@code first} threw, once the clients are closed
         */
        public static Session open(ClientConfig config, PipelineTopics topics, Runnable first)
                throws InterruptedException, ExecutionException {
            var ready = java.util.concurrent.CompletableFuture.runAsync(first, Jobs::startThread);
            var producer = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                KafkaProducer<JobKey, SyncJob> p = KafkaClients.producer(config, topics.jobs(), "chainsync-submit");
                try {
                    ready.join();
                    p.partitionsFor(topics.jobs().name()); // its metadata, fetched ahead of the send
                } catch (RuntimeException e) {
                    // open (first's failure) or the send reports it
                }
                return p;
            }, Jobs::startThread);
            JobStatusView statuses;
            try {
                statuses = new JobStatusView(config, topics, "chainsync-submit", ready);
            } catch (RuntimeException e) {
                producer.thenAccept(p -> p.close(Duration.ZERO));
                throw e;
            }
            Session session = new Session(topics, statuses, producer);
            try {
                ready.join();
            } catch (java.util.concurrent.CompletionException e) {
                session.close();
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw e;
            }
            if (!statuses.awaitCaughtUp(Duration.ofSeconds(30))) {
                session.close();
                throw new ExecutionException(new java.util.concurrent.TimeoutException(
                        "cannot read " + topics.status().name() + " at " + config.bootstrapServers()));
            }
            return session;
        }

        /** As {@link Jobs#submit}. */
        public void submit(JobSpec job) throws InterruptedException, ExecutionException {
            SyncJob record = job.toRecord(Instant.now());
            JobStatus known = statuses.status(job.job());
            if (known != null && known.getFingerprint() != null
                    && !known.getFingerprint().equals(JobFingerprint.of(record))) {
                throw new JobRefusedException("job id " + job.job() + " is already used by another job");
            }
            refuseHeldDestination(statuses, job.dest(), job.job());
            produce(record);
        }

        /** As {@link Jobs#retry}. */
        public int retry(String jobId) throws InterruptedException, ExecutionException {
            JobStatus known = controllable(statuses, jobId);
            if (known.getState() != JobState.FAILED) {
                throw new JobRefusedException("job " + jobId + " is " + known.getState()
                        + ": only a failed or cancelled job can be retried");
            }
            refuseHeldDestination(statuses, known.getSpec().getDest(), jobId);
            SyncJob record = SyncJob.newBuilder(known.getSpec()).setAttempt(known.getAttempt() + 1)
                    .setCommand(JobCommand.RUN).setSubmittedAt(Instant.now()).build();
            produce(record);
            return record.getAttempt();
        }

        /** As {@link Jobs#cancel}. */
        public int cancel(String jobId) throws InterruptedException, ExecutionException {
            JobStatus known = controllable(statuses, jobId);
            if (JobStatusView.ended(known.getState())) {
                throw new JobRefusedException("job " + jobId + " has already ended (" + known.getState()
                        + "): nothing to cancel");
            }
            SyncJob record = SyncJob.newBuilder(known.getSpec()).setAttempt(known.getAttempt())
                    .setCommand(JobCommand.CANCEL).setSubmittedAt(Instant.now()).build();
            produce(record);
            return record.getAttempt();
        }

        /**
         * Follows the job, at {@code attempt} or a later one, until it is COMPLETE or FAILED,
         * calling {@code onUpdate} with every status seen (the current one first).
         *
         * @return the final status, or empty on timeout
         */
        public Optional<JobStatus> await(String jobId, int attempt, Duration timeout, Consumer<JobStatus> onUpdate)
                throws InterruptedException {
            java.util.concurrent.BlockingQueue<JobStatus> updates = new java.util.concurrent.LinkedBlockingQueue<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            try (AutoCloseable following = statuses.follow(jobId, updates::add)) {
                while (true) {
                    JobStatus status = updates.poll(deadline - System.nanoTime(),
                            java.util.concurrent.TimeUnit.NANOSECONDS);
                    if (status == null) {
                        return Optional.empty();
                    }
                    if (status.getAttempt() < attempt) {
                        continue;
                    }
                    onUpdate.accept(status);
                    if (JobStatusView.ended(status.getState())) {
                        return Optional.of(status);
                    }
                }
            } catch (InterruptedException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e); // closing a follower throws nothing
            }
        }

        private void produce(SyncJob record) throws InterruptedException, ExecutionException {
            producer.get().send(new ProducerRecord<>(topics.jobs().name(), new JobKey(record.getJob()), record)).get();
        }

        /** Closes the view and the producer side by side; everything produced was acknowledged. */
        @Override
        public void close() {
            var closingProducer = producer.handle((p, e) -> {
                if (p != null) {
                    p.close(Duration.ZERO);
                }
                return null;
            });
            statuses.close();
            closingProducer.join();
        }
    }

    /** Runs a step of opening a session on a daemon thread of its own (not a pool's: each may block). */
    private static void startThread(Runnable step) {
        Thread t = new Thread(step, "chainsync-session-open");
        t.setDaemon(true);
        t.start();
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
