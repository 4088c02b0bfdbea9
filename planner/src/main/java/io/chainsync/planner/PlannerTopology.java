package io.chainsync.planner;

import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.SerdeFactory;

import io.chainsync.avro.ChunkContexts;
import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkLayout;
import io.chainsync.avro.ChunkPlan;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.ChunkStats;
import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerProgress;
import io.chainsync.avro.LayerResults;
import io.chainsync.avro.LayerTally;
import io.chainsync.avro.SyncJob;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The planner as a Kafka Streams topology: a pure function of the topics, testable with
 * {@code TopologyTestDriver}. Every store, repartition topic, join and processor is named.
 *
 * <pre>
 * extents ─groupByKey─► [chunk-contexts] ─complete &amp; changed─► decide ─► [chunk-decided] ─────────────────────┐
 *                                                              └─stats, rekey LayerKey─┐                      │ join
 * scans ──────────────────────────────────────────────────────────────────── merge ─► layout                  │ (same key)
 *                                          [chunk-stats] (job, layer, chunk) in order, [layer-tallies]        │
 *   ├─ layer layout ─► [layout-progress] ─final─► dedupe [layout-fingerprints] ─► [layer-layouts]              │
 *   └─ chunk layouts (once per layer) ─rekey ChunkKey─► [chunk-layouts] ───────────────────────────────────────┤
 *                                                                                                             ▼
 *                                                                   dedupe [copy-plan-fingerprints] ─► plans (COPY)
 * results ─rekey LayerKey─► [layer-results] ─┬─ [layer-layouts] leftJoin (finalize-join) ─► dedupe
 *                                            │      [finalize-plan-fingerprints] ─► plans (FINALIZE, chunk -1)
 *                                            └─ layout progress leftJoin (layer-status-join) ─► by job ─┐
 * jobs ─repartition (jobs-by-job)──────────────────────────────────────────────── cogroup [job-status] ◄┘ ─► status
 * </pre>
 *
 * <p>Chunk and layer keys are serialized with the internal topics' key serdes everywhere (stores,
 * repartition topics, the joins), so that a key maps to the same partition on a repartition topic
 * as on the topic it is joined with; job keys, public on {@code chainsync.jobs}, are repartitioned
 * once under the {@code internal} key serde, so that no internal topic needs a registry subject.
 * Values of stores and repartition topics use the {@code internal} serdes. Duplicates and any
 * arrival order give the same output: aggregates keep
 * the latest record per context / chunk, results are deduplicated by chunk, and each plan is
 * forwarded only when it differs from the last one sent for its key.
 */
public final class PlannerTopology {

    public static final String CHUNK_CONTEXTS = "chunk-contexts";
    public static final String CHUNK_DECIDED = "chunk-decided";
    public static final String CHUNK_STATS = "chunk-stats";
    public static final String LAYER_TALLIES = "layer-tallies";
    public static final String LAYOUT_PROGRESS = "layout-progress";
    public static final String CHUNK_LAYOUTS = "chunk-layouts";
    public static final String LAYOUT_FINGERPRINTS = "layout-fingerprints";
    public static final String LAYER_LAYOUTS = "layer-layouts";
    public static final String COPY_PLAN_FINGERPRINTS = "copy-plan-fingerprints";
    public static final String LAYER_RESULTS = "layer-results";
    public static final String FINALIZE_PLAN_FINGERPRINTS = "finalize-plan-fingerprints";
    public static final String JOB_STATUS = "job-status";

    private PlannerTopology() {
    }

    /**
     * @param topics the public topics, with the serdes their records are written with
     * @param internal serdes for the values of stores and repartition topics
     */
    public static Topology build(PipelineTopics topics, SerdeFactory internal) {
        StreamsBuilder builder = new StreamsBuilder();
        Serde<ChunkKey> chunkKey = topics.extents().keySerde();
        Serde<LayerKey> layerKey = topics.scans().keySerde();
        // jobs are grouped by a key of the planner's own, not the registry's: no subject for an internal topic
        Serde<JobKey> jobKey = internal.serde(JobKey.class, true);
        Serde<ChunkDecided> decidedSerde = internal.serde(ChunkDecided.class, false);
        Serde<LayerLayout> layoutSerde = internal.serde(LayerLayout.class, false);
        Serde<ChunkPlan> planSerde = internal.serde(ChunkPlan.class, false);
        Serde<ChunkLayout> chunkLayoutSerde = internal.serde(ChunkLayout.class, false);

        builder.addStateStore(fingerprints(LAYOUT_FINGERPRINTS, layerKey));
        builder.addStateStore(fingerprints(COPY_PLAN_FINGERPRINTS, chunkKey));
        builder.addStateStore(fingerprints(FINALIZE_PLAN_FINGERPRINTS, layerKey));

        // a. the contexts of one chunk meet (same key, same partition) and are decided once all are in
        KStream<ChunkKey, ChunkDecided> decided = builder
                .stream(topics.extents().name(), topics.extents().consumed())
                .groupByKey(Grouped.with("extents-by-chunk", chunkKey, internal.serde(ChunkExtents.class, false)))
                .aggregate(ChunkDecider::emptyContexts, (key, part, contexts) -> ChunkDecider.add(contexts, part),
                        Named.as("chunk-contexts-aggregate"),
                        // no cache: a cache could hide a changed aggregate behind a later unchanged one
                        store(CHUNK_CONTEXTS, chunkKey, internal.serde(ChunkContexts.class, false))
                                .withCachingDisabled())
                .toStream(Named.as("chunk-contexts-updates"))
                .filter((key, contexts) -> contexts.getChanged() && ChunkDecider.complete(contexts),
                        Named.as("chunk-contexts-complete"))
                .mapValues(ChunkDecider::decide, Named.as("chunk-decide"));

        // b. decided chunks by chunk (for the plans); their stats and the scan summaries by layer (for the layout)
        KTable<ChunkKey, ChunkDecided> decidedTable = decided.toTable(Named.as("chunk-decided-table"),
                store(CHUNK_DECIDED, chunkKey, decidedSerde));
        KStream<LayerKey, LayoutProcessor.Input> statsByLayer = decided
                .map((key, d) -> KeyValue.pair(new LayerKey(key.getJob(), key.getLayer()), ChunkDecider.stats(d)),
                        Named.as("chunk-stats-rekey"))
                .repartition(Repartitioned.with(layerKey, internal.serde(ChunkStats.class, false))
                        .withName("chunk-stats-by-layer"))
                .mapValues(stats -> new LayoutProcessor.Input(stats, null), Named.as("chunk-stats-input"));
        KStream<LayerKey, LayoutProcessor.Input> scans = builder
                .stream(topics.scans().name(), topics.scans().consumed())
                .filter((key, scan) -> key != null && scan != null, Named.as("layer-scans-present"))
                .mapValues(scan -> new LayoutProcessor.Input(null, scan), Named.as("layer-scans-input"));

        // c. the layout, once the scan summary and every chunk are in (or either failed): one pass
        //    over the layer's chunk stats in chunk order, then each chunk's place, once
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(CHUNK_STATS),
                Serdes.Bytes(), internal.serde(ChunkStats.class, false)));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(LAYER_TALLIES),
                layerKey, internal.serde(LayerTally.class, false)));
        KStream<LayerKey, LayoutProcessor.Output> laidOut = statsByLayer
                .merge(scans, Named.as("layout-inputs"))
                .process(() -> new LayoutProcessor(CHUNK_STATS, LAYER_TALLIES), Named.as("layout"),
                        CHUNK_STATS, LAYER_TALLIES);
        KTable<LayerKey, LayerLayout> layoutProgress = laidOut
                .filter((key, out) -> out.layer() != null, Named.as("layout-of-layer"))
                .mapValues(LayoutProcessor.Output::layer, Named.as("layout-value"))
                .toTable(Named.as("layout-progress-table"), store(LAYOUT_PROGRESS, layerKey, layoutSerde));
        KTable<LayerKey, LayerLayout> layouts = layoutProgress
                .toStream(Named.as("layout-updates"))
                .filter((key, layout) -> LayoutPlanner.isFinal(layout), Named.as("layout-final"))
                .processValues(new Deduplicator<>(LAYOUT_FINGERPRINTS, layoutSerde), Named.as("layout-dedupe"),
                        LAYOUT_FINGERPRINTS)
                .toTable(Named.as("layer-layouts-table"), store(LAYER_LAYOUTS, layerKey, layoutSerde));
        KTable<ChunkKey, ChunkLayout> chunkLayouts = laidOut
                .filter((key, out) -> out.chunk() != null, Named.as("layout-of-chunk"))
                .map((key, out) -> KeyValue.pair(out.chunkKey(), out.chunk()), Named.as("chunk-layout-rekey"))
                .repartition(Repartitioned.with(chunkKey, chunkLayoutSerde).withName("chunk-layouts-by-chunk"))
                .toTable(Named.as("chunk-layouts-table"), store(CHUNK_LAYOUTS, chunkKey, chunkLayoutSerde));

        // d. every chunk's COPY plan: the chunk's decisions on the layer's clusters (same key, same partition)
        decidedTable
                .join(chunkLayouts, ChunkPlanner::copyPlan, Named.as("chunk-plan-join"))
                .toStream(Named.as("chunk-plan-updates"))
                .filter((key, plan) -> plan != null, Named.as("chunk-plan-present"))
                .processValues(new Deduplicator<>(COPY_PLAN_FINGERPRINTS, planSerde), Named.as("copy-plan-dedupe"),
                        COPY_PLAN_FINGERPRINTS)
                .to(topics.plans().name(),
                        topics.plans().produced().withStreamPartitioner(new PlanPartitioner()));

        // e. results by layer; the FINALIZE plan once every chunk is done
        KTable<LayerKey, LayerResults> results = builder
                .stream(topics.results().name(), topics.results().consumed())
                .selectKey((key, r) -> new LayerKey(key.getJob(), key.getLayer()), Named.as("results-rekey"))
                .groupByKey(Grouped.with("results-by-layer", layerKey, internal.serde(ChunkResult.class, false)))
                .aggregate(ResultTracker::empty, (key, r, agg) -> ResultTracker.add(agg, r),
                        Named.as("layer-results-aggregate"),
                        store(LAYER_RESULTS, layerKey, internal.serde(LayerResults.class, false)));
        layouts.leftJoin(results, ChunkPlanner::finalizeIfReady, Named.as("finalize-join"))
                .toStream(Named.as("finalize-updates"))
                .filter((key, plan) -> plan != null, Named.as("finalize-ready"))
                .processValues(new Deduplicator<>(FINALIZE_PLAN_FINGERPRINTS, planSerde),
                        Named.as("finalize-plan-dedupe"), FINALIZE_PLAN_FINGERPRINTS)
                .selectKey((key, plan) -> new ChunkKey(key.getJob(), key.getLayer(), ChunkPlanner.LAYER_TASK),
                        Named.as("finalize-rekey"))
                .to(topics.plans().name(), Produced.with(topics.plans().keySerde(), topics.plans().valueSerde())
                        .withName("produce-finalize-" + topics.plans().name())
                        .withStreamPartitioner(new PlanPartitioner()));

        // f. the job status: submissions and every layer's status, per job
        KGroupedStream<JobKey, LayerProgress> layersByJob = layoutProgress
                .leftJoin(results, StatusFold::layer, Named.as("layer-status-join"))
                .toStream(Named.as("layer-status-updates"))
                .filter((key, progress) -> progress != null, Named.as("layer-status-present"))
                .groupBy((key, progress) -> new JobKey(key.getJob()),
                        Grouped.with("layer-status-by-job", jobKey, internal.serde(LayerProgress.class, false)));
        KGroupedStream<JobKey, SyncJob> jobs = builder
                .stream(topics.jobs().name(), topics.jobs().consumed())
                // co-partitioned with the layers' status by the same (internal) key serde
                .repartition(Repartitioned.with(jobKey, internal.serde(SyncJob.class, false)).withName("jobs-by-job"))
                .groupByKey(Grouped.with("jobs-by-job-grouped", jobKey, internal.serde(SyncJob.class, false)));
        jobs.<JobStatus>cogroup((key, job, status) -> StatusFold.withJob(key.getJob(), job, status))
                .cogroup(layersByJob, (key, progress, status) -> StatusFold.withLayer(key.getJob(), progress, status))
                .aggregate(StatusFold::empty, Named.as("job-status-aggregate"),
                        store(JOB_STATUS, jobKey, internal.serde(JobStatus.class, false)))
                .toStream(Named.as("job-status-updates"))
                .processValues(() -> new Stamp(), Named.as("job-status-stamp"))
                .to(topics.status().name(), topics.status().produced());

        return builder.build();
    }

    private static <K, V extends SpecificRecord> Materialized<K, V, KeyValueStore<Bytes, byte[]>> store(
            String name, Serde<K> keySerde, Serde<V> valueSerde) {
        return Materialized.<K, V, KeyValueStore<Bytes, byte[]>>as(name).withKeySerde(keySerde)
                .withValueSerde(valueSerde);
    }

    private static <K> org.apache.kafka.streams.state.StoreBuilder<KeyValueStore<K, Long>> fingerprints(
            String name, Serde<K> keySerde) {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), keySerde, Serdes.Long());
    }

    /** Sets {@code updatedAt} from the time of the record that changed the status. */
    private static final class Stamp implements FixedKeyProcessor<JobKey, JobStatus, JobStatus> {
        private FixedKeyProcessorContext<JobKey, JobStatus> context;

        @Override
        public void init(FixedKeyProcessorContext<JobKey, JobStatus> context) {
            this.context = context;
        }

        @Override
        public void process(FixedKeyRecord<JobKey, JobStatus> record) {
            context.forward(record.withValue(StatusFold.stamped(record.value(), record.timestamp())));
        }
    }
}
