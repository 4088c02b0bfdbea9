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
 */
public record PipelineTopics(
        Topic<JobKey, SyncJob> jobs,
        Topic<ChunkKey, ChunkExtents> extents,
        Topic<LayerKey, LayerScanned> scans,
        Topic<ChunkKey, ChunkPlan> plans,
        Topic<ChunkKey, ChunkResult> results,
        Topic<JobKey, JobStatus> status) {

    public static final String JOBS = "chainsync.jobs";
    public static final String EXTENTS = "chainsync.extents";
    public static final String SCANS = "chainsync.scans";
    public static final String PLANS = "chainsync.plans";
    public static final String RESULTS = "chainsync.results";
    public static final String STATUS = "chainsync.status";
    /** Records no service can read, set aside with the reason (see {@link DeadLetters}). */
    public static final String DEAD_LETTERS = "chainsync.dead-letters";

    public static PipelineTopics create(SerdeFactory serdes) {
        return new PipelineTopics(
                new Topic<>(JOBS, serdes.serde(JobKey.class, true), serdes.serde(SyncJob.class, false)),
                new Topic<>(EXTENTS, serdes.serde(ChunkKey.class, true), serdes.serde(ChunkExtents.class, false)),
                new Topic<>(SCANS, serdes.serde(LayerKey.class, true), serdes.serde(LayerScanned.class, false)),
                new Topic<>(PLANS, serdes.serde(ChunkKey.class, true), serdes.serde(ChunkPlan.class, false)),
                new Topic<>(RESULTS, serdes.serde(ChunkKey.class, true), serdes.serde(ChunkResult.class, false)),
                new Topic<>(STATUS, serdes.serde(JobKey.class, true), serdes.serde(JobStatus.class, false)));
    }

    public List<String> names() {
        return List.of(jobs.name(), extents.name(), scans.name(), plans.name(), results.name(), status.name());
    }
}
