package io.chainsync.scanner;

import io.chainsync.core.Extent;
import io.chainsync.kafka.TopicSetup;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a layer's scan into chunks that follow the data, not the virtual size (docs/design.md §3,
 * "scanner"). Pure; fed the contexts' extents window by window, in offset order.
 *
 * <p>A chunk ends on a multiple of {@link #ALIGNMENT} (so no chunk edge splits a destination
 * cluster) or at the end of the layer, as late as possible while it holds at most
 * {@code dataBudget} bytes that {@code base:allocation} does not report as zero and at most
 * {@code maxExtents} extents of every context. A range without data costs nothing, so terabytes
 * of unallocated space fit in one chunk; and every chunk's records stay under a known bound
 * whatever the layer holds ({@link #MAX_EXTENTS}). A source reporting more than
 * {@code maxExtents} extents of one context inside one {@link #ALIGNMENT} span cannot be cut and
 * is refused.
 */
final class ChunkCutter {

    /** Chunk edges fall on multiples of 2 MiB, the largest qcow2 cluster. */
    static final long ALIGNMENT = 2L << 20;
    /** Most extents of one context in one chunk ({@link TopicSetup#MAX_CHUNK_EXTENTS}). */
    static final int MAX_EXTENTS = TopicSetup.MAX_CHUNK_EXTENTS;
    /** The ZERO bit of {@code base:allocation}. */
    private static final int ZERO = 2;

    /** One chunk: {@code [start, end)} and, per context (in the cutter's order), its extents. */
    record Chunk(long index, long start, long end, List<List<Extent>> extents) {
    }

    private final long size;
    private final int contexts;
    private final int baseContext;
    private final long dataBudget;
    private final int maxExtents;
    private final List<List<Extent>> pending = new ArrayList<>();
    private long chunkStart;
    private long covered;
    private long next;

    /**
     * @param size the layer's size
     * @param contexts how many contexts each window carries
     * @param baseContext the index of {@code base:allocation} among them
     * @param dataBudget the most non-zero bytes per chunk, a positive multiple of {@link #ALIGNMENT}
     * @param maxExtents the most extents of one context per chunk
     */
    ChunkCutter(long size, int contexts, int baseContext, long dataBudget, int maxExtents) {
        if (size < 0 || contexts < 1 || baseContext < 0 || baseContext >= contexts || maxExtents < 1
                || dataBudget <= 0 || dataBudget % ALIGNMENT != 0) {
            throw new IllegalArgumentException("bad chunk cutter parameters");
        }
        this.size = size;
        this.contexts = contexts;
        this.baseContext = baseContext;
        this.dataBudget = dataBudget;
        this.maxExtents = maxExtents;
        for (int c = 0; c < contexts; c++) {
            pending.add(new ArrayList<>());
        }
    }

    /**
     * Adds every context's extents over {@code [covered, windowEnd)} (each list tiling that range)
     * and returns the chunks that are now closed.
     */
    List<Chunk> add(List<List<Extent>> window, long windowEnd) {
        if (window.size() != contexts || windowEnd <= covered || windowEnd > size) {
            throw new IllegalArgumentException("window [" + covered + ", " + windowEnd + ") does not continue the scan");
        }
        for (int c = 0; c < contexts; c++) {
            long at = covered;
            for (Extent e : window.get(c)) {
                if (e.offset() != at || e.length() <= 0) {
                    throw new IllegalArgumentException("extents of context " + c + " do not tile from " + at);
                }
                pending.get(c).add(e);
                at = e.end();
            }
            if (at != windowEnd) {
                throw new IllegalArgumentException("extents of context " + c + " end at " + at + ", not " + windowEnd);
            }
        }
        covered = windowEnd;
        List<Chunk> out = new ArrayList<>();
        long cut;
        while ((cut = limit()) < covered) {
            out.add(cut(cut));
        }
        return out;
    }

    /** The chunks left once the whole layer is added. */
    List<Chunk> finish() {
        if (covered != size) {
            throw new IllegalStateException("the scan covers [0, " + covered + ") of " + size + " bytes");
        }
        List<Chunk> out = new ArrayList<>();
        long cut;
        while ((cut = limit()) < covered) {
            out.add(cut(cut));
        }
        if (chunkStart < size) {
            out.add(cut(size));
        }
        return out;
    }

    /** How many chunks were cut so far. */
    long count() {
        return next;
    }

    /**
     * Where the current chunk must end at the latest: the last {@link #ALIGNMENT} multiple before
     * the first extent it cannot take, or {@link #covered} when it can take everything so far.
     */
    private long limit() {
        long limit = covered;
        for (List<Extent> list : pending) {
            if (list.size() > maxExtents) {
                limit = Math.min(limit, list.get(maxExtents).offset());
            }
        }
        long data = 0;
        for (Extent e : pending.get(baseContext)) {
            if (e.offset() >= limit) {
                break;
            }
            if ((e.flags() & ZERO) == 0) {
                if (data + e.length() > dataBudget) {
                    limit = Math.min(limit, e.offset() + (dataBudget - data));
                    break;
                }
                data += e.length();
            }
        }
        if (limit >= covered) {
            return covered;
        }
        long aligned = limit / ALIGNMENT * ALIGNMENT;
        if (aligned <= chunkStart) {
            throw new IllegalStateException("more than " + maxExtents + " extents of one context in the "
                    + ALIGNMENT + " bytes at offset " + chunkStart + ": the layer cannot be cut into chunks");
        }
        return aligned;
    }

    /** Closes the current chunk at {@code end}, splitting the extents that straddle it. */
    private Chunk cut(long end) {
        List<List<Extent>> chunk = new ArrayList<>(contexts);
        for (int c = 0; c < contexts; c++) {
            List<Extent> list = pending.get(c);
            int taken = 0;
            List<Extent> mine = new ArrayList<>();
            while (taken < list.size() && list.get(taken).offset() < end) {
                Extent e = list.get(taken);
                if (e.end() <= end) {
                    mine.add(e);
                    taken++;
                } else {
                    mine.add(new Extent(e.offset(), end - e.offset(), e.flags()));
                    list.set(taken, new Extent(end, e.end() - end, e.flags()));
                    break;
                }
            }
            chunk.add(mine);
            pending.set(c, new ArrayList<>(list.subList(taken, list.size())));
        }
        Chunk out = new Chunk(next++, chunkStart, end, chunk);
        chunkStart = end;
        return out;
    }
}
