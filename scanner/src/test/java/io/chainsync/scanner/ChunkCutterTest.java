package io.chainsync.scanner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.core.Extent;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkCutterTest {

    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final long GIB = 1024 * MIB;
    private static final long TIB = 1024 * GIB;
    private static final int DATA = 0;
    private static final int HOLE_ZERO = 3;

    /** Feeds both contexts window by window, as the scanner does, and returns every chunk. */
    private static List<ChunkCutter.Chunk> cut(ChunkCutter cutter, long size, long window, List<Extent> base,
                                               List<Extent> depth) {
        List<ChunkCutter.Chunk> out = new ArrayList<>();
        for (long start = 0; start < size; start += window) {
            long end = Math.min(size, start + window);
            out.addAll(cutter.add(List.of(clip(base, start, end), clip(depth, start, end)), end));
        }
        out.addAll(cutter.finish());
        return out;
    }

    private static List<Extent> clip(List<Extent> extents, long start, long end) {
        List<Extent> out = new ArrayList<>();
        for (Extent e : extents) {
            long s = Math.max(start, e.offset());
            long t = Math.min(end, e.end());
            if (s < t) {
                out.add(new Extent(s, t - s, e.flags()));
            }
        }
        return out;
    }

    /** Chunks tile the layer, edges on 2 MiB multiples, every chunk within both bounds. */
    private static void assertWellCut(List<ChunkCutter.Chunk> chunks, long size, long budget, int maxExtents) {
        long at = 0;
        for (int i = 0; i < chunks.size(); i++) {
            ChunkCutter.Chunk c = chunks.get(i);
            assertEquals(i, c.index());
            assertEquals(at, c.start());
            assertTrue(c.end() > c.start());
            assertTrue(c.end() == size || c.end() % ChunkCutter.ALIGNMENT == 0, "edge " + c.end());
            long data = 0;
            for (List<Extent> list : c.extents()) {
                assertTrue(list.size() <= maxExtents, "chunk " + i + ": " + list.size() + " extents");
                assertEquals(c.start(), list.get(0).offset());
                assertEquals(c.end(), list.get(list.size() - 1).end());
            }
            for (Extent e : c.extents().get(0)) {
                data += (e.flags() & 2) == 0 ? e.length() : 0;
            }
            assertTrue(data <= budget, "chunk " + i + " holds " + data + " data bytes");
            at = c.end();
        }
        assertEquals(size, at);
    }

    @Test
    void sparseEightTebibyteLayerIsAFewChunksNotOneHundredThirtyThousand() {
        long size = 8 * TIB;
        Random rnd = new Random(8);
        List<Extent> base = new ArrayList<>();
        List<Extent> depth = new ArrayList<>();
        long at = 0;
        for (int i = 0; i < 8192; i++) {
            long offset = (i * (size / 8192)) + (rnd.nextInt(1 << 10) * 64 * KIB);
            base.add(new Extent(at, offset - at, HOLE_ZERO));
            depth.add(new Extent(at, offset - at, 0));
            base.add(new Extent(offset, 64 * KIB, DATA));
            depth.add(new Extent(offset, 64 * KIB, 1));
            at = offset + 64 * KIB;
        }
        base.add(new Extent(at, size - at, HOLE_ZERO));
        depth.add(new Extent(at, size - at, 0));
        ChunkCutter cutter = new ChunkCutter(size, 2, 0, 64 * MIB, ChunkCutter.MAX_EXTENTS);
        List<ChunkCutter.Chunk> chunks = cut(cutter, size, GIB, base, depth);
        assertWellCut(chunks, size, 64 * MIB, ChunkCutter.MAX_EXTENTS);
        // 512 MiB of data at 64 MiB per chunk: 8 chunks (9 with the last one's remainder), not 131,072
        assertTrue(chunks.size() >= 8 && chunks.size() <= 9, chunks.size() + " chunks");
        assertEquals(chunks.size(), cutter.count());
    }

    @Test
    void extentCountBoundsAChunkWhateverItsData() {
        long size = 64 * MIB + 4 * KIB;
        List<Extent> base = new ArrayList<>();
        for (long at = 0; at < size; at += 4 * KIB) {
            base.add(new Extent(at, 4 * KIB, (at / (4 * KIB)) % 2 == 0 ? DATA : HOLE_ZERO));
        }
        List<Extent> mergedDepth = List.of(new Extent(0, size, 1));
        int max = 1000;
        List<ChunkCutter.Chunk> chunks = cut(new ChunkCutter(size, 2, 0, 1024 * MIB, max), size, 16 * MIB, base,
                mergedDepth);
        assertWellCut(chunks, size, 1024 * MIB, max);
        // 16,385 extents, at most 1,000 per chunk in whole 2 MiB steps (512 each): 31 chunks of 2 MiB,
        // then the last 2 MiB + 4 KiB (513 extents) as one
        assertEquals(32, chunks.size());
    }

    @Test
    void randomLayersAreCutWithinBothBoundsWhateverTheWindows() {
        Random rnd = new Random(42);
        for (int rep = 0; rep < 200; rep++) {
            long size = (1 + rnd.nextInt(64)) * MIB + rnd.nextInt(512) * 512L;
            List<Extent> base = random(rnd, size);
            List<Extent> depth = random(rnd, size);
            long budget = (1 + rnd.nextInt(4)) * ChunkCutter.ALIGNMENT;
            int max = 1 + rnd.nextInt(2000) + 2 * 4096;
            long window = (1 + rnd.nextInt(40)) * 512L * 1024;
            List<ChunkCutter.Chunk> chunks = cut(new ChunkCutter(size, 2, 0, budget, max), size, window, base, depth);
            assertWellCut(chunks, size, budget, max);
            // nothing lost: the chunks' extents put together are the input
            assertEquals(merged(base), merged(chunks.stream().flatMap(c -> c.extents().get(0).stream()).toList()));
            assertEquals(merged(depth), merged(chunks.stream().flatMap(c -> c.extents().get(1).stream()).toList()));
        }
    }

    @Test
    void moreExtentsThanAllowedInTwoMebibytesIsRefused() {
        long size = 4 * MIB;
        List<Extent> base = new ArrayList<>();
        for (long at = 0; at < size; at += 512) {
            base.add(new Extent(at, 512, (at / 512) % 2 == 0 ? DATA : HOLE_ZERO));
        }
        ChunkCutter cutter = new ChunkCutter(size, 2, 0, 64 * MIB, 100);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> cut(cutter, size, size, base, List.of(new Extent(0, size, 1))));
        assertTrue(e.getMessage().contains("more than 100 extents of one context"), e.getMessage());
    }

    private static List<Extent> random(Random rnd, long size) {
        List<Extent> out = new ArrayList<>();
        long at = 0;
        while (at < size) {
            long len = Math.min(size - at, (1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 4096)) * 512L);
            out.add(new Extent(at, len, rnd.nextInt(4)));
            at += len;
        }
        return out;
    }

    private static List<Extent> merged(List<Extent> extents) {
        List<Extent> out = new ArrayList<>();
        for (Extent e : extents) {
            Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && last.flags() == e.flags() && last.end() == e.offset()) {
                out.set(out.size() - 1, new Extent(last.offset(), last.length() + e.length(), e.flags()));
            } else {
                out.add(e);
            }
        }
        return out;
    }
}
