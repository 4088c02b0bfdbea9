package io.chainsync.copier;

import io.chainsync.kafka.Backoff;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.DeadLetters;
import io.chainsync.kafka.Failures;
import io.chainsync.kafka.JobStatusView;
import io.chainsync.kafka.ServiceMetrics;
import java.util.concurrent.atomic.AtomicLong;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import java.io.IOException;
import java.util.Set;
import io.chainsync.kafka.KafkaClients;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.RecordLoop;

import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.ClusterRunRecord;
import io.chainsync.avro.ResultState;
import io.chainsync.avro.TaskKind;
import io.chainsync.nbd.NbdClient;
import io.chainsync.nbd.NbdUri;
import io.chainsync.core.ClusterKind;
import io.chainsync.core.DecisionTable;
import io.chainsync.core.ClusterRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A copier worker: one member of the {@code chainsync-copier} group on {@code chainsync.plans}.
 * A COPY task writes one chunk's data clusters at their fixed host offsets and flushes them; a
 * FINALIZE task writes the layer's metadata and renames it into place. Only then is the result
 * produced and the task's offset committed, so a crash means redelivery, and both tasks are
 * idempotent. Every destination is confined to the worker's destination root.
 */
public final class CopierService extends RecordLoop<ChunkKey, ChunkPlan> {

    private static final Logger LOGGER = LoggerFactory.getLogger(CopierService.class);
    /** The group's id without the group prefix ({@link io.chainsync.kafka.PipelineNames#copierGroup()}). */
    public static final String GROUP = io.chainsync.kafka.PipelineNames.COPIER_GROUP;
    /** The operator's log: one line per finished layer (docs/operations.md). */
    private static final Logger OPS = LoggerFactory.getLogger("io.chainsync.ops.copier");
    /** The status views of the copiers running in this process: the jobs gauge reads them. */
    private static final java.util.Set<JobStatusView> VIEWS = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        for (JobState s : JobState.values()) {
            // every copier's view follows the same topic: the largest count, not their sum
            io.micrometer.core.instrument.Gauge.builder(ServiceMetrics.JOBS,
                            () -> VIEWS.stream().mapToLong(v -> v.count(s)).max().orElse(0))
                    .tag("state", s.name()).description("jobs by state, as the copiers see chainsync.status")
                    .register(ServiceMetrics.registry());
        }
    }

    private final io.micrometer.core.instrument.Counter chunksDone = ServiceMetrics.chunks("done");
    private final io.micrometer.core.instrument.Counter chunksFailed = ServiceMetrics.chunks("failed");
    private final io.micrometer.core.instrument.Counter chunksRetried = ServiceMetrics.chunks("retried");
    private static final int CACHED_SOURCES = 4;
    /**
     * Tasks a copier works on at once ({@link RecordLoop}'s window): while one chunk's data is
     * flushed and its result produced, the next chunk is read.
     */
    static final int TASK_WINDOW = 2;
    /** NBD connections a verification reads its source with. */
    private static final int VERIFY_CONNECTIONS = 4;

    private final PipelineTopics topics;
    private final Path destRoot;
    private final String worker;
    private final KafkaProducer<ChunkKey, ChunkResult> results;
    private final ExecutorService writers;
    /** Shared by the tasks in the window: one copies at a time while the others flush or wait. */
    private final DataCopier copier;
    /** Connections to sources, kept for the next chunks of the same layer; guarded by itself. */
    private final Map<String, Source> sources = new LinkedHashMap<>(8, 0.75f, true);
    private final Backoff retry;
    private final JobStatusView jobStates;
    private final FileModes modes;
    /** The layers each job's tasks wrote to, for cleanup once the job ends. */
    private final Map<String, Set<Placement>> touched = new java.util.concurrent.ConcurrentHashMap<>();
    /** The latest attempt of each job in {@link #touched}: only its end ends the job here. */
    private final Map<String, Integer> touchedAttempt = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicLong retried = new AtomicLong();

    public CopierService(ClientConfig config, PipelineTopics topics, Path destRoot, String worker) {
        this(config, topics, destRoot, worker, Backoff.TASKS);
    }

    /** @param retry how often, and how far apart, a task is tried again after a transient failure */
    public CopierService(ClientConfig config, PipelineTopics topics, Path destRoot, String worker, Backoff retry) {
        this(config, topics, destRoot, worker, retry, FileModes.DEFAULT);
    }

    /** @param modes the modes of the layers, files and directories this worker creates */
    public CopierService(ClientConfig config, PipelineTopics topics, Path destRoot, String worker, Backoff retry,
                         FileModes modes) {
        super(KafkaClients.consumer(config, config.names().copierGroup(), worker), topics.plans(), new DeadLetters(config, worker),
                TASK_WINDOW, worker + "-task");
        if (!Files.isDirectory(destRoot)) {
            throw new IllegalArgumentException("destination root " + destRoot + " is not a directory");
        }
        this.topics = topics;
        this.retry = retry;
        this.modes = java.util.Objects.requireNonNull(modes, "modes");
        this.jobStates = new JobStatusView(config, topics, worker);
        VIEWS.add(jobStates);
        this.destRoot = destRoot.toAbsolutePath().normalize();
        this.worker = worker;
        this.results = KafkaClients.producer(config, topics.results(), worker + "-results");
        this.writers = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, worker + "-writer");
            t.setDaemon(true);
            return t;
        });
        this.copier = new DataCopier(256 << 10, NbdClient.QUEUE_DEPTH, writers); // as copy's defaults
    }

    @Override
    protected void handle(ConsumerRecord<ChunkKey, ChunkPlan> record) throws Exception {
        ChunkPlan plan = record.value();
        if (plan == null) {
            return;
        }
        ChunkResult.Builder result = ChunkResult.newBuilder().setJob(plan.getJob()).setLayer(plan.getLayer())
                .setChunk(plan.getChunk()).setKind(plan.getKind()).setWorker(worker).setBytes(0).setError(null)
                .setAttempt(plan.getAttempt());
        String what = plan.getKind() == TaskKind.COPY ? "chunk " + plan.getChunk() : "finalize";
        // a task is judged by its job's status: not before the view has read the status topic once
        // (else a worker that just started would redo, and lock the destination of, a finished job)
        jobStates.awaitCaughtUp(java.time.Duration.ofSeconds(30));
        JobStatus status = jobStates.status(plan.getJob());
        if (status != null && plan.getAttempt() < status.getAttempt()) {
            // a task of an attempt that a retry superseded: the retry's own tasks redo it
            LOGGER.atInfo().setMessage("skipping a task of a superseded attempt").addKeyValue("job", plan.getJob())
                    .addKeyValue("attempt", plan.getAttempt()).addKeyValue("layer", plan.getName())
                    .addKeyValue("task", what).log();
            return;
        }
        // a status of an older attempt than the task's says nothing about the task's attempt yet
        JobState state = status == null || plan.getAttempt() > status.getAttempt() ? null : status.getState();
        if (state == JobState.FAILED || state == JobState.COMPLETE) {
            // a failed job stops: its remaining tasks are skipped and its temporary files removed;
            // a complete job's task delivered again changes nothing
            LOGGER.atInfo().setMessage("skipping a task of an ended job").addKeyValue("job", plan.getJob())
                    .addKeyValue("state", state).addKeyValue("layer", plan.getName()).addKeyValue("task", what).log();
            if (state == JobState.FAILED) {
                discardTemporaries(plan.getJob(), new Placement(plan.getDest(), plan.getName()));
            }
            return;
        }
        long started = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            try {
                result.setBytes(run(plan));
                result.setState(ResultState.DONE).setVerified(plan.getKind() == TaskKind.FINALIZE && plan.getVerify());
                chunksDone.increment();
                long took = System.nanoTime() - started;
                ServiceMetrics.chunkTimer(plan.getKind() == TaskKind.COPY ? "copy" : "finalize")
                        .record(took, java.util.concurrent.TimeUnit.NANOSECONDS);
                LOGGER.atDebug().setMessage("task done").addKeyValue("job", plan.getJob())
                        .addKeyValue("layer", plan.getName()).addKeyValue("task", what)
                        .addKeyValue("bytes", result.getBytes()).addKeyValue("ms", took / 1_000_000).log();
                break;
            } catch (InterruptedException e) {
                throw e;
            } catch (LayerDiffersException e) {
                // the layer is finalized but differs from its source: the job fails, naming where
                OPS.atWarn().setMessage("layer differs from its source").addKeyValue("job", plan.getJob())
                        .addKeyValue("layer", plan.getName()).addKeyValue("offset", e.offset())
                        .addKeyValue("reason", e.getMessage()).log();
                result.setState(ResultState.FAILED).setFirstDifference(e.offset())
                        .setError("layer " + plan.getName() + ": " + what + ": " + e.getMessage());
                chunksFailed.increment();
                break;
            } catch (Exception e) {
                String reason = Failures.reason(e);
                boolean transientFailure = Failures.isTransientWork(e);
                if (stopping()) {
                    throw e; // abandoned on shutdown: not committed, redelivered to another worker
                }
                if (transientFailure && attempt < retry.attempts()) {
                    retried.incrementAndGet();
                    chunksRetried.increment();
                    LOGGER.atWarn().setMessage("task failed, retrying").addKeyValue("job", plan.getJob())
                            .addKeyValue("layer", plan.getName()).addKeyValue("task", what)
                            .addKeyValue("attempt", attempt).addKeyValue("reason", reason).log();
                    retry.pause(attempt);
                    continue;
                }
                LOGGER.atWarn().setMessage("task failed").addKeyValue("job", plan.getJob())
                        .addKeyValue("layer", plan.getName()).addKeyValue("task", what).addKeyValue("reason", reason)
                        .addKeyValue("attempts", attempt).setCause(LOGGER.isDebugEnabled() ? e : null).log();
                String detail = transientFailure
                        ? reason + " (source " + plan.getUri() + ", gave up after " + attempt + " attempts)"
                        : reason;
                result.setState(ResultState.FAILED).setError("layer " + plan.getName() + ": " + what + ": " + detail);
                chunksFailed.increment();
                break;
            }
        }
        results.send(new ProducerRecord<>(topics.results().name(), record.key(), result.build())).get();
    }

    /**
     * Runs one task once; returns the bytes copied. The destination is opened under the root
     * without following links (docs/design.md §3, "Confinement") and every file is reached through
     * it.
     */
    private long run(ChunkPlan plan) throws Exception {
        Path target = Destinations.resolve(destRoot, plan.getDest(), plan.getName());
        try (DestDir dir = Destinations.open(destRoot, plan.getDest(), modes)) {
            List<String> jobLayers = plan.getJobLayers().isEmpty() ? List.of(plan.getName()) : plan.getJobLayers();
            // the job's first task checks all of its layers against the destination before the
            // lock names the job, so nothing of a refused job is ever written
            DestLock.acquire(dir, plan.getJob(), job -> JobStatusView.ended(jobStates.state(job)),
                    () -> ExistingLayers.check(dir, plan.getJob(), jobLayers, plan.getReplace()));
            touched.computeIfAbsent(plan.getJob(), j -> java.util.concurrent.ConcurrentHashMap.newKeySet())
                    .add(new Placement(plan.getDest(), plan.getName()));
            touchedAttempt.merge(plan.getJob(), plan.getAttempt(), Math::max);
            ChunkTasks.Layer layer = new ChunkTasks.Layer(plan.getJob(), target, plan.getVirtualSize(),
                    plan.getClusterBits(), plan.getBackingName(), plan.getBackingFormat(), plan.getReplace(),
                    jobLayers);
            if (plan.getLayer() == 0 && plan.getBackingName() != null) {
                BackingLayer.check(dir, plan.getBackingName(), plan.getVirtualSize()); // --backing
            }
            if (plan.getKind() == TaskKind.COPY) {
                Source source = lease(plan.getUri());
                boolean copied = false;
                try {
                    long bytes = ChunkTasks.copyChunk(dir, source.client, copier, layer, plan.getChunk(), runs(plan),
                            n -> { });
                    copied = true;
                    return bytes;
                } finally {
                    release(plan.getUri(), source, !copied); // a failed task's connection is not used again
                }
            }
            ChunkTasks.finalizeLayer(dir, layer, plan.getChunkCount());
        }
        if (plan.getVerify()) {
            verify(plan, target);
        }
        double seconds = elapsedSeconds(plan.getJob());
        long bytes = layerBytes(plan.getJob(), plan.getName());
        OPS.atInfo().setMessage("layer complete").addKeyValue("job", plan.getJob())
                .addKeyValue("layer", plan.getName()).addKeyValue("path", target)
                .addKeyValue("virtualSize", plan.getVirtualSize()).addKeyValue("dataBytes", bytes)
                .addKeyValue("chunks", plan.getChunkCount())
                .addKeyValue("sinceJobStart", String.format(java.util.Locale.ROOT, "%.1fs", seconds))
                .addKeyValue("rate", String.format(java.util.Locale.ROOT, "%.1fMiB/s",
                        seconds > 0 ? bytes / seconds / 1048576.0 : 0.0)).log();
        return 0;
    }

    /**
     * Verifies a finalized layer against its source (docs/design.md §3, "Verification in the
     * pipeline"), reading the source as the scan did (the plan's mode and bitmap). Runs before the
     * FINALIZE result is produced and its offset committed: a copier that dies while verifying
     * leaves the task to be delivered again, and finalizing a finished layer again changes nothing,
     * so the verification is done again.
     *
     * @throws LayerDiffersException when the layer differs, with the first differing offset
     * @throws java.io.IOException when it cannot be checked (the source unreachable): retried as any task
     */
    private void verify(ChunkPlan plan, Path target) throws Exception {
        if (plan.getMode() == null) {
            throw new IllegalStateException("the FINALIZE plan asks for verification but names no decision mode");
        }
        DecisionTable.Mode mode = DecisionTable.Mode.valueOf(plan.getMode().name());
        long started = System.nanoTime();
        LayerCheck.Verdict verdict = new LayerCheck(target.getParent(), VERIFY_CONNECTIONS).verify(plan.getName(),
                NbdUri.parse(plan.getUri()), plan.getBackingName(), plan.getDirtyBitmap(), offered -> mode);
        if (!verdict.verified()) {
            throw new LayerDiffersException(verdict.firstDifference(), "the layer differs from its source"
                    + (verdict.firstDifference() >= 0 ? " at offset " + verdict.firstDifference() : "") + ": "
                    + verdict.reason());
        }
        OPS.atInfo().setMessage("layer verified").addKeyValue("job", plan.getJob())
                .addKeyValue("layer", plan.getName()).addKeyValue("content", "sha256:" + verdict.contentDigest())
                .addKeyValue("ownedRanges", verdict.ownedRanges())
                .addKeyValue("seconds", String.format(java.util.Locale.ROOT, "%.1f",
                        (System.nanoTime() - started) / 1e9)).log();
    }

    /** A finalized layer that differs from its source; {@code offset} is the first differing byte, or -1. */
    static final class LayerDiffersException extends Exception {
        private final long offset;

        LayerDiffersException(long offset, String message) {
            super(message);
            this.offset = offset;
        }

        long offset() {
            return offset;
        }
    }

    /** Seconds since the job's first status (about its submission), as this copier's status view saw it. */
    private double elapsedSeconds(String job) {
        return jobStates.firstSeen(job)
                .map(t -> Math.max(0, java.time.Duration.between(t, java.time.Instant.now()).toMillis() / 1000.0))
                .orElse(0.0);
    }

    /** The layer's data bytes as the latest status counts them (0 when not known yet). */
    private long layerBytes(String job, String layer) {
        io.chainsync.avro.JobStatus status = jobStates.status(job);
        if (status == null) {
            return 0;
        }
        return status.getLayers().stream().filter(l -> l.getName().equals(layer))
                .mapToLong(io.chainsync.avro.LayerStatus::getBytesTotal).findFirst().orElse(0);
    }

    /** One line per job this copier worked on, when the job ends. */
    private void logJobEnded(String job, JobState state) {
        io.chainsync.avro.JobStatus status = jobStates.status(job);
        long bytes = status == null ? 0 : status.getLayers().stream()
                .mapToLong(io.chainsync.avro.LayerStatus::getBytesDone).sum();
        double seconds = status == null || status.getUpdatedAt() == null ? 0 : jobStates.firstSeen(job)
                .map(t -> java.time.Duration.between(t, status.getUpdatedAt()).toMillis() / 1000.0).orElse(0.0);
        var line = state == JobState.COMPLETE ? OPS.atInfo() : OPS.atWarn();
        line.setMessage("job " + (state == JobState.COMPLETE ? "complete" : "failed")).addKeyValue("job", job)
                .addKeyValue("dest", status == null ? null : status.getDest())
                .addKeyValue("layers", status == null ? 0 : status.getLayers().size()).addKeyValue("dataBytes", bytes)
                .addKeyValue("elapsed", String.format(java.util.Locale.ROOT, "%.1fs", seconds))
                .addKeyValue("error", status == null ? null : status.getError()).log();
    }

    /** Removes the temporary files of the failed jobs' layers this worker wrote to. */
    @Override
    protected void idle() {
        for (Iterator<Map.Entry<String, Set<Placement>>> it = touched.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Set<Placement>> job = it.next();
            JobStatus status = jobStates.status(job.getKey());
            if (status == null || status.getAttempt() < touchedAttempt.getOrDefault(job.getKey(), 0)) {
                continue; // the status of the attempt this worker wrote for is not known yet
            }
            JobState state = status.getState();
            if (state == JobState.FAILED) {
                for (Placement layer : job.getValue()) {
                    discardTemporaries(job.getKey(), layer);
                }
            }
            if (state == JobState.FAILED || state == JobState.COMPLETE) {
                logJobEnded(job.getKey(), state);
                for (Placement layer : job.getValue()) {
                    releaseLock(job.getKey(), layer);
                }
                touchedAttempt.remove(job.getKey());
                it.remove();
            }
        }
    }

    /**
     * Removes a failed job's temporary files of a layer, if the job holds the destination. Best
     * effort: a destination that cannot be opened (gone, or refused) has nothing of the job's to
     * remove.
     */
    private void discardTemporaries(String job, Placement layer) {
        try (DestDir dir = Destinations.openExisting(destRoot, layer.dest(), modes)) {
            if (job.equals(DestLock.holder(dir))) {
                ChunkTasks.discard(dir, job, layer.name());
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // the job never created its destination
        } catch (IOException | RuntimeException e) {
            housekeepingFailed("cannot remove the temporary files of a failed job", job, layer, e);
        }
    }

    private void releaseLock(String job, Placement layer) {
        try (DestDir dir = Destinations.openExisting(destRoot, layer.dest(), modes)) {
            DestLock.release(dir, job);
        } catch (java.nio.file.NoSuchFileException e) {
            // no destination, no lock
        } catch (IOException | RuntimeException e) {
            housekeepingFailed("cannot release a destination lock", job, layer, e);
        }
    }

    private static void housekeepingFailed(String message, String job, Placement layer, Exception e) {
        LOGGER.atWarn().setMessage(message).addKeyValue("job", job).addKeyValue("dest", layer.dest())
                .addKeyValue("layer", layer.name()).addKeyValue("reason", Failures.reason(e)).log();
    }

    /** A layer of a job's destination, as the job names them (relative to the destination root). */
    private record Placement(String dest, String name) {
    }

    /** Task attempts retried after a transient failure, since this worker started. */
    public long retried() {
        return retried.get();
    }

    static List<ClusterRun> runs(ChunkPlan plan) {
        List<ClusterRun> runs = new ArrayList<>(plan.getRuns().size());
        for (ClusterRunRecord r : plan.getRuns()) {
            runs.add(new ClusterRun(r.getFirstCluster(), r.getCount(), ClusterKind.valueOf(r.getKind().name()),
                    r.getFirstDataIndex()));
        }
        return runs;
    }

    /** A connection to a source and the tasks using it; closed once dropped and unused. */
    private static final class Source {
        final NbdClient client;
        int users;
        boolean dropped;

        Source(NbdClient client) {
            this.client = client;
        }
    }

    /** A connection to a source for a task: the one kept for the same layer, or a new one. */
    private Source lease(String uri) throws java.io.IOException {
        synchronized (sources) {
            Source source = sources.get(uri);
            if (source == null) {
                source = new Source(NbdClient.connect(NbdUri.parse(uri),
                        NbdClient.Options.defaults().withConnections(2)));
                sources.put(uri, source);
            }
            source.users++; // before the eviction below: never this task's own connection
            for (Iterator<Source> eldest = sources.values().iterator();
                 sources.size() > CACHED_SOURCES && eldest.hasNext(); ) {
                Source old = eldest.next();
                if (old.users == 0) { // one a task is using stays until it is done
                    eldest.remove();
                    old.client.close();
                }
            }
            return source;
        }
    }

    /** A task is done with its connection; {@code drop}: no later task may use it. */
    private void release(String uri, Source source, boolean drop) {
        synchronized (sources) {
            source.users--;
            if (drop && sources.get(uri) == source) {
                sources.remove(uri);
                source.dropped = true;
            }
            if (source.dropped && source.users == 0) {
                source.client.close();
            }
        }
    }

    @Override
    protected void closed() {
        super.closed();
        VIEWS.remove(jobStates);
        jobStates.close();
        synchronized (sources) {
            sources.values().forEach(source -> source.client.close()); // the window is empty: no task uses one
            sources.clear();
        }
        writers.shutdownNow();
        results.close();
    }
}
