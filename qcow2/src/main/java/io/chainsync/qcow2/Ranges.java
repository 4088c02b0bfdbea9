package io.chainsync.qcow2;

import java.util.Arrays;

/**
 * Sorted, disjoint ranges {@code [from, to)} of cluster numbers, added in increasing order
 * (touching ranges are merged): the used clusters of an image, in memory proportional to the
 * number of gaps, not to the number of clusters.
 */
final class Ranges {

    /** Receives one range. */
    @FunctionalInterface
    interface RangeConsumer {
        void accept(long from, long to);
    }

    private long[] bounds = new long[8]; // from0, to0, from1, to1, ...
    private int size; // longs used

    /** Appends {@code [from, to)}, which must start at or after the end of every range so far. */
    void add(long from, long to) {
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("bad range [" + from + ", " + to + ")");
        }
        if (from == to) {
            return;
        }
        if (size > 0 && from < bounds[size - 1]) {
            throw new IllegalArgumentException("range [" + from + ", " + to + ") is not after " + bounds[size - 1]);
        }
        if (size > 0 && from == bounds[size - 1]) {
            bounds[size - 1] = to;
            return;
        }
        if (size == bounds.length) {
            bounds = Arrays.copyOf(bounds, size * 2);
        }
        bounds[size++] = from;
        bounds[size++] = to;
    }

    void forEach(RangeConsumer consumer) {
        for (int i = 0; i < size; i += 2) {
            consumer.accept(bounds[i], bounds[i + 1]);
        }
    }

    /** Number of ranges (after merging). */
    int count() {
        return size / 2;
    }

    /** Walks the ranges once, in increasing windows. */
    Cursor cursor() {
        return new Cursor();
    }

    final class Cursor {
        private int i;

        /**
         * Calls {@code consumer} with the parts of the ranges inside {@code [from, to)}; windows must
         * be asked in increasing order.
         */
        void forEachIn(long from, long to, RangeConsumer consumer) {
            while (i < size && bounds[i + 1] <= from) {
                i += 2;
            }
            for (int j = i; j < size && bounds[j] < to; j += 2) {
                consumer.accept(Math.max(from, bounds[j]), Math.min(to, bounds[j + 1]));
            }
        }
    }
}
