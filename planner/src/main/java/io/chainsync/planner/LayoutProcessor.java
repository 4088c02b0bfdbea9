package io.chainsync.planner;

import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkLayout;
import io.chainsync.avro.ChunkStats;
import io.chainsync.avro.LayerKey;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.LayerScanned;
import io.chainsync.avro.LayerTally;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The layout step of the planner (docs/design.md §3, "planner"), per layer, with state that does
 * not grow per record: each chunk's stats are one entry of a key-value store keyed by (job, layer,
 * chunk) in chunk order, and the layer keeps a small {@link LayerTally} (scan summary, distinct
 * chunks received, first chunk error). When the tally says every chunk is in, the chunks are
 * streamed once in chunk order (a range scan) to choose the cluster size, and once more to give
 * every chunk its first data index, one {@link ChunkLayout} record per chunk. A redelivered chunk
 * or summary equal to what is stored costs one lookup and changes nothing; a changed one after the
 * layout recomputes it (the output is then deduplicated downstream).
 *
 * <p>Input: a chunk's stats or a layer's scan summary, keyed by layer. Output: the layer's layout
 * (when the summary arrives or changes, and when the layout becomes final) and, for a usable
 * layout, every chunk's layout.
 */
final class LayoutProcessor implements Processor<LayerKey, LayoutProcessor.Input, LayerKey, LayoutProcessor.Output> {

    /** A chunk's stats or a scan summary (exactly one is set). */
    record Input(ChunkStats stats, LayerScanned scan) {
    }

    /** The layer's layout, or one chunk's (exactly one is set). */
    record Output(LayerLayout layer, ChunkKey chunkKey, ChunkLayout chunk) {
    }

    private final String statsStore;
    private final String tallyStore;
    private ProcessorContext<LayerKey, Output> context;
    private KeyValueStore<Bytes, ChunkStats> stats;
    private KeyValueStore<LayerKey, LayerTally> tallies;

    LayoutProcessor(String statsStore, String tallyStore) {
        this.statsStore = Objects.requireNonNull(statsStore, "statsStore");
        this.tallyStore = Objects.requireNonNull(tallyStore, "tallyStore");
    }

    @Override
    public void init(ProcessorContext<LayerKey, Output> context) {
        this.context = context;
        this.stats = context.getStateStore(statsStore);
        this.tallies = context.getStateStore(tallyStore);
    }

    @Override
    public void process(Record<LayerKey, Input> record) {
        LayerKey layer = record.key();
        Input in = record.value();
        if (layer == null || in == null) {
            return;
        }
        int attempt = in.stats() != null ? in.stats().getAttempt() : in.scan().getAttempt();
        LayerTally tally = tallies.get(layer);
        if (tally != null && attempt < tally.getAttempt()) {
            return; // an older attempt of the job: superseded by a retry
        }
        boolean scanChanged = false;
        LayerScanned superseded = null;
        if (tally == null || attempt > tally.getAttempt()) {
            // a retry starts the layer afresh; the older attempt's chunk stats stay in the store
            // until overwritten, and the range passes skip them (LayoutPlanner)
            superseded = tally == null ? null : tally.getScan();
            tally = new LayerTally(null, 0L, null, false, attempt);
        }
        if (in.stats() != null) {
            ChunkStats s = in.stats();
            Bytes key = chunkKey(layer, s.getChunk());
            ChunkStats old = stats.get(key);
            if (s.equals(old)) {
                return;
            }
            stats.put(key, s);
            if (old == null || old.getAttempt() != attempt) {
                tally.setReceived(tally.getReceived() + 1);
            }
            if (s.getError() != null && tally.getError() == null) {
                tally.setError(s.getError());
            }
        } else {
            if (in.scan().equals(tally.getScan())) {
                return;
            }
            tally.setScan(in.scan());
            scanChanged = true;
        }
        LayerScanned scan = tally.getScan();
        if (scan == null) {
            tallies.put(layer, tally);
            if (superseded != null) {
                // the older attempt's layout no longer holds: none of its chunks count any more
                context.forward(record.withValue(new Output(LayoutPlanner.waiting(superseded), null, null)));
            }
            return;
        }
        boolean wasFinal = tally.getLaidOut();
        LayerLayout layout;
        try (Range pass = new Range(layer)) {
            layout = LayoutPlanner.plan(scan, tally.getReceived(), tally.getError(), pass::iterator);
        }
        tally.setLaidOut(layout.getComplete());
        tallies.put(layer, tally);
        if (layout.getComplete() || scanChanged || wasFinal) {
            context.forward(record.withValue(new Output(layout, null, null)));
        }
        if (LayoutPlanner.isUsable(layout)) {
            try (Range pass = new Range(layer)) {
                LayoutPlanner.firstDataIndexes(layout, pass.iterator(), (s, first) -> context.forward(
                        record.withValue(new Output(null, new ChunkKey(layer.getJob(), layer.getLayer(),
                                s.getChunk()), LayoutPlanner.chunkLayout(layout, s.getChunk(), first)))));
            }
        }
    }

    /** One pass over a layer's chunk stats in chunk order: a range scan of the store, opened on first use. */
    private final class Range implements AutoCloseable {
        private final LayerKey layer;
        private KeyValueIterator<Bytes, ChunkStats> range;

        Range(LayerKey layer) {
            this.layer = layer;
        }

        Iterator<ChunkStats> iterator() {
            if (range != null) {
                throw new IllegalStateException("one pass per range");
            }
            range = stats.range(chunkKey(layer, Long.MIN_VALUE), chunkKey(layer, Long.MAX_VALUE));
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return range.hasNext();
                }

                @Override
                public ChunkStats next() {
                    if (!range.hasNext()) {
                        throw new NoSuchElementException();
                    }
                    KeyValue<Bytes, ChunkStats> kv = range.next();
                    return kv.value;
                }
            };
        }

        @Override
        public void close() {
            if (range != null) {
                range.close();
            }
        }
    }

    /**
     * The store key of a chunk: the layer's key, then the chunk index big-endian with its sign bit
     * flipped, so that byte order (the store's order) is chunk order within a layer.
     */
    static Bytes chunkKey(LayerKey layer, long chunk) {
        byte[] job = layer.getJob().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + job.length + 4 + 8);
        b.putInt(job.length).put(job).putInt(layer.getLayer()).putLong(chunk ^ Long.MIN_VALUE);
        return Bytes.wrap(b.array());
    }
}
