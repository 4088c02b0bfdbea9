package io.chainsync.scanner;

import io.chainsync.core.LayerFormat;
import io.chainsync.kafka.Backoff;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.JobFingerprint;
import io.chainsync.kafka.JobStatusView;
import io.chainsync.avro.JobStatus;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import io.chainsync.kafka.Failures;
import io.chainsync.kafka.DeadLetters;
import io.chainsync.kafka.KafkaClients;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.RecordLoop;

import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.DecisionMode;
import io.chainsync.avro.JobCommand;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.SyncJob;
import io.chainsync.nbd.NbdClient;
import io.chainsync.nbd.NbdUri;
import io.chainsync.core.DecisionTable;
import io.chainsync.core.MetaContexts;
import io.chainsync.core.Extent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scanner service: for every job on {@code chainsync.jobs}, scans each layer's block status
 * over NBD chunk by chunk and publishes one {@link ChunkExtents} per (job, layer, chunk, context),
 * then one {@link LayerScanned} summary per layer (or the reason the layer cannot be scanned).
 * The job's offset is committed only after everything it produced is acknowledged; a redelivered
 * job is scanned again and its records replace the earlier ones.
 */
public final class ScannerService extends RecordLoop<JobKey, SyncJob> {

    private static final Logger LOGGER = LoggerFactory.getLogger(ScannerService.class);
    /** Bytes of the layer scanned at a time; what it holds is handed to the {@link ChunkCutter}. */
    private static final long WINDOW = LayerScanner.DEFAULT_STEP;
    /** The group's id without the group prefix ({@link io.chainsync.kafka.PipelineNames#scannerGroup()}). */
    public static final String GROUP = io.chainsync.kafka.PipelineNames.SCANNER_GROUP;

    private final PipelineTopics topics;
    private final KafkaProducer<ChunkKey, ChunkExtents> extents;
    private final KafkaProducer<LayerKey, LayerScanned> scans;
    private final JobStatusView statuses;
    /** The first fingerprint of every job id this scanner has seen (bounded, oldest dropped). */
    private final Map<String, String> fingerprints = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > 100_000;
        }
    };

    public ScannerService(ClientConfig config, PipelineTopics topics, String clientId) {
        super(KafkaClients.consumer(config, config.names().scannerGroup(), clientId), topics.jobs(), new DeadLetters(config, clientId));
        this.topics = topics;
        this.extents = KafkaClients.producer(config, topics.extents(), clientId + "-extents");
        this.scans = KafkaClients.producer(config, topics.scans(), clientId + "-scans");
        this.statuses = new JobStatusView(config, topics, clientId);
    }

    @Override
    protected void handle(ConsumerRecord<JobKey, SyncJob> record) throws Exception {
        SyncJob job = record.value();
        if (job == null) {
            return;
        }
        String fingerprint = JobFingerprint.of(job);
        String first = fingerprints.get(job.getJob());
        JobStatus known = statuses.status(job.getJob());
        if (first == null && known != null) {
            first = known.getFingerprint();
        }
        if (first != null && !first.equals(fingerprint)) {
            LOGGER.atWarn().setMessage("job refused: its id is already used by another job")
                    .addKeyValue("job", job.getJob()).log();
            refuse("job id " + job.getJob() + " is already used by another job");
            return;
        }
        fingerprints.put(job.getJob(), fingerprint);
        if (job.getCommand() == JobCommand.CANCEL) {
            return; // nothing to scan: the planner ends the attempt, the copiers skip its tasks
        }
        if (known != null && job.getAttempt() < known.getAttempt()) {
            LOGGER.atInfo().setMessage("skipping an attempt superseded by a retry").addKeyValue("job", job.getJob())
                    .addKeyValue("attempt", job.getAttempt()).log();
            return;
        }
        LOGGER.atInfo().setMessage("scanning job").addKeyValue("job", job.getJob())
                .addKeyValue("attempt", job.getAttempt()).addKeyValue("layers", job.getLayers().size()).log();
        String chainError = validateChain(job);
        if (chainError == null) {
            Optional<String> holder = statuses.holderOf(job.getDest(), job.getJob());
            if (holder.isPresent()) {
                chainError = "destination " + job.getDest() + " is held by running job " + holder.get();
            }
        }
        List<LayerSource> layers = job.getLayers();
        for (int i = 0; i < layers.size(); i++) {
            LayerScanned summary = chainError != null
                    ? summary(job, i, null, chainError)
                    : scanLayer(job, i);
            if (summary == null) {
                LOGGER.atInfo().setMessage("job cancelled, scan abandoned").addKeyValue("job", job.getJob())
                        .addKeyValue("attempt", job.getAttempt()).log();
                break;
            }
            scans.send(new ProducerRecord<>(topics.scans().name(), new LayerKey(job.getJob(), i), summary)).get();
        }
        extents.flush();
        scans.flush();
    }

    /** The service is stopping (SIGTERM): the job in hand is abandoned between two chunks. */
    private static final class StopRequested extends RuntimeException {
        StopRequested() {
            super("the scanner is stopping", null, false, false);
        }
    }

    /**
     * Whether this attempt of the job was cancelled, or superseded by a retry, as
     * {@code chainsync.status} says: its scan is abandoned (null summaries), nothing more produced.
     */
    private boolean cancelled(SyncJob job) {
        JobStatus known = statuses.status(job.getJob());
        return known != null && (known.getAttempt() > job.getAttempt()
                || known.getAttempt() == job.getAttempt() && known.getCancelled());
    }

    /** Checks the whole job ({@link JobSpec}) before any layer is scanned: null when valid, else the reason. */
    static String validateChain(SyncJob job) {
        if (job.getLayers().isEmpty()) {
            return "the job has no layers";
        }
        try {
            JobSpec.of(job);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        return null;
    }

    /**
     * Scans one layer, again after a transient failure (the source restarted, a connection
     * dropped) up to {@link Backoff#TASKS}' attempts; a permanent failure, or the last attempt's,
     * becomes the layer's error. Null when the job's attempt was cancelled or superseded.
     */
    private LayerScanned scanLayer(SyncJob job, int index) throws InterruptedException {
        if (cancelled(job)) {
            return null;
        }
        LayerSource source = job.getLayers().get(index);
        for (int attempt = 1; ; attempt++) {
            try {
                return scanLayerOnce(job, index);
            } catch (InterruptedException | StopRequested e) {
                throw e;
            } catch (Exception e) {
                String reason = Failures.reason(e);
                boolean transientFailure = Failures.isTransientWork(e);
                boolean retry = transientFailure && attempt < Backoff.TASKS.attempts();
                LOGGER.atWarn().setMessage(retry ? "layer scan failed, retrying" : "layer cannot be scanned")
                        .addKeyValue("job", job.getJob()).addKeyValue("layer", source.getName())
                        .addKeyValue("attempt", attempt).addKeyValue("reason", reason).log();
                if (retry && stopping()) {
                    throw new StopRequested(); // abandoned, uncommitted: the job is scanned again
                }
                if (!retry) {
                    return summary(job, index, null, transientFailure
                            ? reason + " (source " + source.getUri() + ", gave up after " + attempt + " attempts)"
                            : reason);
                }
                Backoff.TASKS.pause(attempt);
            }
        }
    }

    private LayerScanned scanLayerOnce(SyncJob job, int index) throws Exception {
        LayerSource source = job.getLayers().get(index);
        String bitmap = job.getDirtyBitmap();
        NbdClient.Options options = NbdClient.Options.defaults()
                .withMetaContexts(DecisionTable.requestedContexts(bitmap))
                .withConnections(1);
        try (NbdClient client = NbdClient.connect(NbdUri.parse(source.getUri()), options)) {
            DecisionTable.Mode mode = DecisionTable.selectMode(index == 0 && job.getBacking() == null,
                    client.metaContexts(), bitmap,
                    job.getFlatten());
            List<String> contexts = DecisionTable.contexts(mode, bitmap);
            long size = client.size();
            // chunks follow the data: cut by non-zero bytes and extent counts, not on a grid over the size
            ChunkCutter cutter = new ChunkCutter(size, contexts.size(),
                    contexts.indexOf(MetaContexts.BASE_ALLOCATION), job.getChunkSize(), ChunkCutter.MAX_EXTENTS);
            LayerScanner scanner = new LayerScanner(client, contexts, WINDOW, 1);
            long extentCount = 0;
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (long start = 0; ; start += WINDOW) {
                if (stopping()) {
                    throw new StopRequested(); // abandoned, uncommitted: the job is scanned again
                }
                if (cancelled(job)) { // a local view's lookup, once per scan window
                    return null;
                }
                boolean last = start >= size;
                List<ChunkCutter.Chunk> closed;
                if (!last) {
                    long end = Math.min(size, start + WINDOW);
                    LayerScan scan = scanner.scan(start, end);
                    List<List<Extent>> window = new ArrayList<>(contexts.size());
                    for (String context : contexts) {
                        window.add(scan.of(context));
                    }
                    closed = cutter.add(window, end);
                } else {
                    closed = cutter.finish();
                }
                for (ChunkCutter.Chunk chunk : closed) {
                    for (int i = 0; i < contexts.size(); i++) {
                        List<Extent> list = chunk.extents().get(i);
                        extentCount += list.size();
                        sent.add(extents.send(new ProducerRecord<>(topics.extents().name(),
                                new ChunkKey(job.getJob(), index, chunk.index()),
                                chunkExtents(job, index, chunk.index(), contexts.get(i),
                                        DecisionMode.valueOf(mode.name()), contexts, chunk.start(), chunk.end(),
                                        list))));
                    }
                    if (sent.size() >= 64) {
                        awaitSends(sent);
                    }
                }
                if (last) {
                    break;
                }
            }
            long chunkCount = cutter.count();
            awaitSends(sent);
            LayerScanned summary = summary(job, index, client, null);
            summary.setSize(size);
            summary.setChunkCount(chunkCount);
            summary.setMode(DecisionMode.valueOf(mode.name()));
            summary.setExtentCount(extentCount);
            LOGGER.atInfo().setMessage("layer scanned").addKeyValue("job", job.getJob())
                    .addKeyValue("layer", source.getName()).addKeyValue("chunks", chunkCount)
                    .addKeyValue("extents", extentCount).log();
            return summary;
        }
    }

    /**
     * Waits for every send: a record the broker refused is never dropped in silence. One too
     * large for the topic is a permanent failure of the layer; an outage is the caller's to retry.
     */
    private static void awaitSends(List<Future<RecordMetadata>> sent) throws Exception {
        try {
            for (Future<RecordMetadata> f : sent) {
                f.get();
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RecordTooLargeException) {
                // cannot happen for a chunk the cutter bounds, unless the topic allows less than 16 MiB
                throw new IllegalStateException("a chunk's extents exceed the topic's maximum record size ("
                        + e.getCause().getMessage() + ")", e.getCause());
            }
            throw e;
        } finally {
            sent.clear();
        }
    }

    static ChunkExtents chunkExtents(SyncJob job, int layer, long chunk, String context, DecisionMode mode,
                                     List<String> contexts, long start, long end, List<Extent> list) {
        List<Long> lengths = new ArrayList<>(list.size());
        List<Integer> flags = new ArrayList<>(list.size());
        for (Extent e : list) {
            lengths.add(e.length());
            flags.add(e.flags());
        }
        return ChunkExtents.newBuilder().setJob(job.getJob()).setLayer(layer).setChunk(chunk).setContext(context)
                .setMode(mode).setContexts(contexts).setStart(start).setEnd(end)
                .setLengths(lengths).setFlags(flags).setAttempt(job.getAttempt()).build();
    }

    private static LayerScanned summary(SyncJob job, int index, NbdClient client, String error) {
        LayerSource source = job.getLayers().get(index);
        LayerSource below = index == 0 ? null : job.getLayers().get(index - 1);
        String backing = index == 0 ? job.getBacking() : below.getName();
        return LayerScanned.newBuilder()
                .setJob(job.getJob()).setLayer(index).setLayerCount(job.getLayers().size())
                .setName(source.getName()).setUri(source.getUri()).setDest(job.getDest())
                .setSize(client == null ? 0 : client.size())
                .setChunkSize(job.getChunkSize()).setChunkCount(0)
                .setOffered(client == null ? List.of() : new ArrayList<>(client.metaContexts()))
                .setMode(null).setExtentCount(0)
                .setBackingName(backing)
                .setBackingFormat(backing == null ? null : LayerFormat.of(backing).qemuName())
                .setClusterSize(job.getClusterSize())
                .setError(error == null ? null : "layer " + source.getName() + ": " + error)
                .setAttempt(job.getAttempt())
                .setJobLayers(job.getLayers().stream().map(LayerSource::getName).toList())
                .setReplace(job.getReplace())
                .setVerify(job.getVerify()).setDirtyBitmap(job.getDirtyBitmap())
                .build();
    }

    @Override
    protected void closed() {
        super.closed();
        statuses.close();
        extents.close();
        scans.close();
    }
}
