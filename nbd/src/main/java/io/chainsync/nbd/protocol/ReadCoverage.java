package io.chainsync.nbd.protocol;

import java.util.Map;
import java.util.TreeMap;

/**
 * Tracks which bytes of a read request the content chunks ({@code NBD_REPLY_TYPE_OFFSET_DATA},
 * {@code NBD_REPLY_TYPE_OFFSET_HOLE}) have covered, to verify that a successful reply covered every
 * byte exactly once. Chunks usually arrive in order, so the interval map mostly holds one entry.
 */
public final class ReadCoverage {

    private final long offset;
    private final long length;
    /** Covered intervals, start to end (exclusive), coalesced. */
    private final TreeMap<Long, Long> covered = new TreeMap<>();
    private long coveredBytes;

    public ReadCoverage(long offset, long length) {
        this.offset = offset;
        this.length = length;
    }

    /**
     * Records a content chunk.
     *
     * @throws NbdProtocolException if it overlaps an earlier chunk or lies outside the request
     */
    public void add(long start, long size) throws NbdProtocolException {
        long end = start + size;
        if (size <= 0 || start < offset || end > offset + length) {
            throw new NbdProtocolException("content chunk [" + start + ", " + end + ") outside the read ["
                    + offset + ", " + (offset + length) + ")");
        }
        Map.Entry<Long, Long> before = covered.floorEntry(start);
        if (before != null && before.getValue() > start) {
            throw overlap(start, end);
        }
        Map.Entry<Long, Long> after = covered.ceilingEntry(start);
        if (after != null && after.getKey() < end) {
            throw overlap(start, end);
        }
        long newStart = start;
        long newEnd = end;
        if (before != null && before.getValue() == start) {
            newStart = before.getKey();
            covered.remove(before.getKey());
        }
        if (after != null && after.getKey() == end) {
            newEnd = after.getValue();
            covered.remove(after.getKey());
        }
        covered.put(newStart, newEnd);
        coveredBytes += size;
    }

    private static NbdProtocolException overlap(long start, long end) {
        return new NbdProtocolException("content chunk [" + start + ", " + end + ") overlaps an earlier chunk");
    }

    /** True when every byte of the request has been covered (exactly once, since overlaps are refused). */
    public boolean complete() {
        return coveredBytes == length;
    }

    public long coveredBytes() {
        return coveredBytes;
    }
}
