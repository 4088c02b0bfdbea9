package io.chainsync.testkit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A half-open byte range {@code [start, end)}.
 *
 * @param start first byte
 * @param end   one past the last byte ({@code end >= start})
 */
public record Range(long start, long end) {

    public Range {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad range [" + start + "," + end + ")");
        }
    }

    /** A range from an offset and a length. */
    public static Range ofLength(long start, long length) {
        return new Range(start, start + length);
    }

    public long length() {
        return end - start;
    }

    @Override
    public String toString() {
        return "[" + start + "," + end + ")";
    }

    /**
     * Sorts and merges overlapping or touching ranges; empty ranges are dropped. The result is the
     * canonical form of a set of bytes, so two sets are equal iff their merged lists are equal.
     */
    public static List<Range> merge(List<Range> ranges) {
        List<Range> sorted = new ArrayList<>(ranges);
        sorted.removeIf(r -> r.length() == 0);
        sorted.sort(Comparator.comparingLong(Range::start));
        List<Range> out = new ArrayList<>();
        for (Range r : sorted) {
            if (!out.isEmpty() && out.get(out.size() - 1).end >= r.start) {
                Range last = out.remove(out.size() - 1);
                out.add(new Range(last.start, Math.max(last.end, r.end)));
            } else {
                out.add(r);
            }
        }
        return List.copyOf(out);
    }

    /**
     * The lowest offset that belongs to exactly one of the two byte sets, or {@code -1} if the sets
     * are equal. Inputs need not be merged.
     */
    public static long firstDifference(List<Range> a, List<Range> b) {
        List<Range> ma = merge(a);
        List<Range> mb = merge(b);
        int n = Math.min(ma.size(), mb.size());
        for (int k = 0; k < n; k++) {
            Range x = ma.get(k);
            Range y = mb.get(k);
            if (x.start != y.start) {
                return Math.min(x.start, y.start);
            }
            if (x.end != y.end) {
                return Math.min(x.end, y.end);
            }
        }
        if (ma.size() > n) {
            return ma.get(n).start;
        }
        if (mb.size() > n) {
            return mb.get(n).start;
        }
        return -1;
    }
}
