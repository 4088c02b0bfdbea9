package io.chainsync.core;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The byte ranges a layer provides itself (docs/design.md §4, "Verification"): of a source layer,
 * its ZERO and DATA decisions; of a rebuilt layer, its allocated and zero clusters. Sorted,
 * disjoint, neighbours merged. Pure.
 *
 * @param ranges {offset, length} pairs
 */
public record OwnedRanges(List<long[]> ranges) {

    public OwnedRanges {
        ranges = List.copyOf(ranges);
    }

    /** The ranges a decided layer provides: everything but SKIP. */
    public static OwnedRanges of(List<Decision> decisions) {
        Builder b = new Builder();
        for (Decision d : decisions) {
            if (d.action() != Action.SKIP) {
                b.add(d.offset(), d.length());
            }
        }
        return b.build();
    }

    /** Collects ranges given in ascending order, merging neighbours. */
    public static final class Builder {
        private final List<long[]> out = new ArrayList<>();

        public Builder add(long offset, long length) {
            if (length <= 0) {
                return this;
            }
            long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && offset < last[0] + last[1]) {
                throw new IllegalArgumentException("range at " + offset + " overlaps or precedes the last one");
            }
            if (last != null && last[0] + last[1] == offset) {
                last[1] += length;
            } else {
                out.add(new long[] {offset, length});
            }
            return this;
        }

        public OwnedRanges build() {
            return new OwnedRanges(out);
        }
    }

    public int count() {
        return ranges.size();
    }

    /** Hex SHA-256 over the ranges (offset and length, big-endian): equal sets, equal digests. */
    public String digest() {
        MessageDigest sha = BlockDigest.sha256();
        ByteBuffer b = ByteBuffer.allocate(16);
        for (long[] r : ranges) {
            b.clear();
            b.putLong(r[0]).putLong(r[1]).flip();
            sha.update(b);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * The first offset where exactly one of the two sets holds the byte, or -1 when they are equal:
     * one linear sweep over the edges of both.
     */
    public long firstDifference(OwnedRanges other) {
        List<long[]> a = ranges;
        List<long[]> b = other.ranges;
        int i = 0;
        int j = 0;
        long pos = 0;
        while (true) {
            while (i < a.size() && end(a.get(i)) <= pos) {
                i++;
            }
            while (j < b.size() && end(b.get(j)) <= pos) {
                j++;
            }
            if (i == a.size() && j == b.size()) {
                return -1;
            }
            boolean inA = i < a.size() && a.get(i)[0] <= pos;
            boolean inB = j < b.size() && b.get(j)[0] <= pos;
            if (inA != inB) {
                return pos;
            }
            long next = Long.MAX_VALUE;
            if (i < a.size()) {
                next = Math.min(next, inA ? end(a.get(i)) : a.get(i)[0]);
            }
            if (j < b.size()) {
                next = Math.min(next, inB ? end(b.get(j)) : b.get(j)[0]);
            }
            pos = next;
        }
    }

    private static long end(long[] range) {
        return range[0] + range[1];
    }
}
