package io.chainsync.planner;

import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkLayout;
import io.chainsync.avro.ChunkStats;
import io.chainsync.avro.LayerLayout;
import io.chainsync.avro.DecisionMode;
import io.chainsync.avro.LayerScanned;
import io.chainsync.core.Extent;
import io.chainsync.core.MetaContexts;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

/** Synthetic layers and the records the scanner would publish for them. */
final class TestLayers {

    /** A layer's chunk stats as the planner's chunk-stats store holds them: by chunk, latest wins. */
    static final class Chunks {
        private final TreeMap<Long, ChunkStats> byChunk = new TreeMap<>();
        private String firstError;

        Chunks add(ChunkStats stats) {
            byChunk.put(stats.getChunk(), stats);
            if (firstError == null) {
                firstError = stats.getError();
            }
            return this;
        }

        Chunks addAll(Iterable<ChunkDecided> decided) {
            decided.forEach(d -> add(ChunkDecider.stats(d)));
            return this;
        }

        LayerLayout plan(LayerScanned scan) {
            return LayoutPlanner.plan(scan, byChunk.size(), firstError, () -> byChunk.values().iterator());
        }

        List<Long> firstDataIndexes(LayerLayout layout) {
            return LayoutPlanner.firstDataIndexes(layout, byChunk.values());
        }

        /** The chunk's layout record, as the planner emits it. */
        ChunkLayout place(LayerLayout layout, long chunk) {
            return LayoutPlanner.isUsable(layout) && byChunk.containsKey(chunk)
                    ? LayoutPlanner.chunkLayout(layout, chunk, firstDataIndexes(layout).get((int) chunk))
                    : LayoutPlanner.chunkLayout(layout, chunk, -1);
        }
    }

    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;
    static final String JOB = "job-1";

    /** A layer: its size, mode and contexts' extents over [0, size). */
    record Layer(long size, DecisionMode mode, List<Extent> base, List<Extent> second, Integer clusterSize) {

        String secondContext() {
            return mode == DecisionMode.DIRTY_BITMAP ? MetaContexts.dirtyBitmap("b") : MetaContexts.ALLOCATION_DEPTH;
        }

        List<String> contexts() {
            return mode == DecisionMode.BOTTOM_WITHOUT_DEPTH
                    ? List.of(MetaContexts.BASE_ALLOCATION)
                    : List.of(MetaContexts.BASE_ALLOCATION, secondContext());
        }

        long chunkCount(long chunkSize) {
            return (size + chunkSize - 1) / chunkSize;
        }
    }

    private TestLayers() {
    }

    /** docs/design.md §1's seed layer at 64 KiB granularity. */
    static Layer seed() {
        long g = 64 * KIB;
        List<Extent> base = List.of(new Extent(0, g, 3), new Extent(g, g, 0), new Extent(2 * g, 2 * g, 3));
        List<Extent> depth = List.of(new Extent(0, g, 0), new Extent(g, 2 * g, 1), new Extent(3 * g, g, 0));
        return new Layer(4 * g, DecisionMode.ALLOCATION_DEPTH, base, depth, null);
    }

    /** A random layer: extents on a random granularity, values chosen to exercise every table row. */
    static Layer random(Random rnd, long maxSize) {
        long[] granules = {512, 2 * KIB, 4 * KIB, 64 * KIB, 64 * KIB, 256 * KIB};
        long granule = granules[rnd.nextInt(granules.length)];
        long size = 512L * (1 + rnd.nextInt((int) (maxSize / 512)));
        DecisionMode mode = DecisionMode.values()[rnd.nextInt(3)];
        List<Extent> base = extents(rnd, size, granule, new int[] {0, 0, 1, 2, 3});
        int[] secondValues = mode == DecisionMode.DIRTY_BITMAP ? new int[] {0, 1} : new int[] {0, 1, 1, 2};
        List<Extent> second = mode == DecisionMode.BOTTOM_WITHOUT_DEPTH
                ? null : extents(rnd, size, rnd.nextBoolean() ? granule : 64 * KIB, secondValues);
        Integer forced = rnd.nextInt(4) == 0 ? 1 << (9 + rnd.nextInt(13)) : null;
        return new Layer(size, mode, base, second, forced);
    }

    private static List<Extent> extents(Random rnd, long size, long granule, int[] values) {
        List<Extent> out = new ArrayList<>();
        long pos = 0;
        int last = -1;
        while (pos < size) {
            long len = Math.min(granule * (1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 64)), size - pos);
            int v = values[rnd.nextInt(values.length)];
            if (v == last) {
                Extent prev = out.remove(out.size() - 1);
                out.add(new Extent(prev.offset(), prev.length() + len, v));
            } else {
                out.add(new Extent(pos, len, v));
            }
            last = v;
            pos += len;
        }
        return out;
    }

    /** The scanner's records for one layer: one per (chunk, context), chunk-major. */
    static List<ChunkExtents> chunkRecords(Layer layer, int layerIndex, long chunkSize) {
        List<ChunkExtents> out = new ArrayList<>();
        for (long c = 0; c < layer.chunkCount(chunkSize); c++) {
            long start = c * chunkSize;
            long end = Math.min(start + chunkSize, layer.size());
            out.add(record(layer, layerIndex, c, MetaContexts.BASE_ALLOCATION, layer.base(), start, end));
            if (layer.mode() != DecisionMode.BOTTOM_WITHOUT_DEPTH) {
                out.add(record(layer, layerIndex, c, layer.secondContext(), layer.second(), start, end));
            }
        }
        return out;
    }

    static ChunkExtents record(Layer layer, int layerIndex, long chunk, String context, List<Extent> extents,
                               long start, long end) {
        List<Long> lengths = new ArrayList<>();
        List<Integer> flags = new ArrayList<>();
        for (Extent e : extents) {
            long s = Math.max(e.offset(), start);
            long t = Math.min(e.end(), end);
            if (s < t) {
                lengths.add(t - s);
                flags.add(e.flags());
            }
        }
        return new ChunkExtents(JOB, layerIndex, chunk, context, layer.mode(), layer.contexts(), start, end,
                lengths, flags, 0);
    }

    static LayerScanned scan(Layer layer, int layerIndex, int layerCount, long chunkSize) {
        return LayerScanned.newBuilder()
                .setJob(JOB).setLayer(layerIndex).setLayerCount(layerCount)
                .setName("layer" + layerIndex + ".qcow2").setUri("nbd+unix:///?socket=/s" + layerIndex)
                .setDest("out").setSize(layer.size()).setChunkSize(chunkSize)
                .setChunkCount(layer.chunkCount(chunkSize)).setOffered(layer.contexts()).setMode(layer.mode())
                .setExtentCount(layer.base().size())
                .setBackingName(layerIndex == 0 ? null : "layer" + (layerIndex - 1) + ".qcow2")
                .setBackingFormat(layerIndex == 0 ? null : "qcow2")
                .setClusterSize(layer.clusterSize()).setError(null)
                .build();
    }
}
