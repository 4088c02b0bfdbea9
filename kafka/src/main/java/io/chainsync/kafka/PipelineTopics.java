package io.chainsync.kafka;

import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.SyncJob;
import java.util.List;

/**
 * Every topic of the pipeline with its serdes. Metadata topics are keyed by (job, layer, chunk)
 * or (job, layer) and share one partition count, so records of one chunk meet in one task.
 * The public topics ({@code chainsync.jobs}, {@code chainsync.status}: the job contract,
 * docs/jobs.md) use the registry's serdes; the internal ones ({@code chainsync.extents},
 * {@code .scans}, {@code .plans}, {@code .results}) plain Avro ({@link PlainAvroSerdes}), with no
 * subject in the registry.
 */
public record PipelineTopics(
        Topic<JobKey, SyncJob> jobs,
        Topic<ChunkKey, ChunkExtents> extents,
        Topic<LayerKey, LayerScanned> scans,
        Topic<ChunkKey, ChunkPlan> plans,
        Topic<ChunkKey, ChunkResult> results,
        Topic<JobKey, JobStatus> status) {

    public static final String JOBS = PipelineNames.JOBS;
    public static final String EXTENTS = PipelineNames.EXTENTS;
    public static final String SCANS = PipelineNames.SCANS;
    public static final String PLANS = PipelineNames.PLANS;
    public static final String RESULTS = PipelineNames.RESULTS;
    public static final String STATUS = PipelineNames.STATUS;
    /** Records no service can read, set aside with the reason (see {@link DeadLetters}). */
    public static final String DEAD_LETTERS = PipelineNames.DEAD_LETTERS;

    /** The unprefixed topics, every one with the given serdes (topology tests). */
    public static PipelineTopics create(SerdeFactory serdes) {
        return create(PipelineNames.DEFAULT, serdes, serdes);
    }

    /**
     * @param names    the topics' names (prefix)
     * @param contract serdes of the public topics (the registry's)
     * @param internal serdes of the internal topics
     */
    public static PipelineTopics create(PipelineNames names, SerdeFactory contract, SerdeFactory internal) {
        return new PipelineTopics(
                new Topic<>(names.jobs(), contract.serde(JobKey.class, true), contract.serde(SyncJob.class, false)),
                new Topic<>(names.topic(EXTENTS), internal.serde(ChunkKey.class, true),
                        internal.serde(ChunkExtents.class, false)),
                new Topic<>(names.topic(SCANS), internal.serde(LayerKey.class, true),
                        internal.serde(LayerScanned.class, false)),
                new Topic<>(names.plans(), internal.serde(ChunkKey.class, true), internal.serde(ChunkPlan.class, false)),
                new Topic<>(names.topic(RESULTS), internal.serde(ChunkKey.class, true),
                        internal.serde(ChunkResult.class, false)),
                new Topic<>(names.status(), contract.serde(JobKey.class, true), contract.serde(JobStatus.class, false)));
    }

    public List<String> names() {
        return List.of(jobs.name(), extents.name(), scans.name(), plans.name(), results.name(), status.name());
    }
}
