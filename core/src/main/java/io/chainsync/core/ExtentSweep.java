package io.chainsync.core;

import java.util.List;

/**
 * Joins the extents of several metadata contexts over one byte range by a sweep: the range is
 * split at every extent boundary of every context, and each resulting segment carries the value of
 * every context over it.
 *
 * <pre>
 *  context 0   |----- a -----|--- b ---|-------- c --------|
 *  context 1   |-- x --|------- y -------|------ z -------------|   (may run past the end)
 *  segments    |a,x    |a,y  |b,y      |c,y|c,z            |
 *              start                                       end
 * </pre>
 *
 * <p>Every context must cover {@code [start, end)} with sorted, contiguous extents (its first
 * extent may begin before {@code start}, its last may end after {@code end}); a gap, an overlap or
 * a short context is an {@link IllegalArgumentException}. The sweep is linear in the number of
 * extents and allocates nothing per segment.
 */
public final class ExtentSweep {

    /** Receives one segment; {@code flags[i]} is context i's value. The array is reused: copy to keep. */
    @FunctionalInterface
    public interface SegmentConsumer {
        void accept(long offset, long length, int[] flags);
    }

    private ExtentSweep() {
    }

    public static void sweep(long start, long end, List<? extends List<Extent>> contexts, SegmentConsumer sink) {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad sweep range [" + start + ", " + end + ")");
        }
        if (contexts.isEmpty()) {
            throw new IllegalArgumentException("sweep needs at least one context");
        }
        if (start == end) {
            return;
        }
        int n = contexts.size();
        int[] index = new int[n];
        int[] flags = new int[n];
        for (int c = 0; c < n; c++) {
            index[c] = firstCovering(contexts.get(c), start, c);
        }
        long pos = start;
        while (pos < end) {
            long next = end;
            for (int c = 0; c < n; c++) {
                List<Extent> extents = contexts.get(c);
                Extent e = extents.get(index[c]);
                if (e.end() <= pos) {
                    int i = index[c] + 1;
                    if (i >= extents.size()) {
                        throw new IllegalArgumentException(
                                "context " + c + " covers only up to " + e.end() + " of [" + start + ", " + end + ")");
                    }
                    Extent following = extents.get(i);
                    if (following.offset() != e.end()) {
                        throw new IllegalArgumentException("context " + c + ": extents not contiguous at offset "
                                + e.end() + " (next extent starts at " + following.offset() + ")");
                    }
                    index[c] = i;
                    e = following;
                }
                flags[c] = e.flags();
                next = Math.min(next, e.end());
            }
            sink.accept(pos, next - pos, flags);
            pos = next;
        }
    }

    /** Index of the extent containing {@code start} (binary search), validating the first one. */
    private static int firstCovering(List<Extent> extents, long start, int context) {
        if (extents.isEmpty() || extents.get(0).offset() > start) {
            throw new IllegalArgumentException("context " + context + " does not cover offset " + start);
        }
        int lo = 0;
        int hi = extents.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (extents.get(mid).offset() <= start) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (extents.get(lo).end() <= start) {
            throw new IllegalArgumentException("context " + context + " does not cover offset " + start);
        }
        return lo;
    }
}
