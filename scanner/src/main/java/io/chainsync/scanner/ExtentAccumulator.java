package io.chainsync.scanner;

import io.chainsync.core.Extent;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects one context's extents over {@code [start, end)} from block-status replies: keeps only
 * what lies beyond what it already has, trims the part past {@code end}, and merges neighbours
 * with equal flags. Pure.
 *
 * <pre>
 * have        |==========|                       position
 * reply             |-a-|--b--|---c---|--d--------------|   (starts at the request offset,
 * taken                 |--b--|---c---|--d--|             may be short, may pass the end)
 *                                           end
 * </pre>
 */
final class ExtentAccumulator {

    private final long end;
    private final List<Extent> extents = new ArrayList<>();
    private long position;

    ExtentAccumulator(long start, long end) {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad range [" + start + ", " + end + ")");
        }
        this.position = start;
        this.end = end;
    }

    /** Where this context is covered up to. */
    long position() {
        return position;
    }

    boolean complete() {
        return position >= end;
    }

    /**
     * Adds the extents of one reply, which begin at {@code replyOffset} (at most
     * {@link #position()}), with the given lengths and flags.
     *
     * @return the number of bytes of new coverage
     */
    long add(long replyOffset, long[] lengths, int[] flags, int count) {
        if (replyOffset > position) {
            throw new IllegalArgumentException("reply at " + replyOffset + " leaves a gap after " + position);
        }
        long before = position;
        long at = replyOffset;
        for (int i = 0; i < count && position < end; i++) {
            long extentEnd = Math.min(at + lengths[i], end);
            if (extentEnd > position) {
                append(position, extentEnd - position, flags[i]);
                position = extentEnd;
            }
            at += lengths[i];
        }
        return position - before;
    }

    private void append(long offset, long length, int flags) {
        int last = extents.size() - 1;
        if (last >= 0 && extents.get(last).flags() == flags && extents.get(last).end() == offset) {
            Extent previous = extents.get(last);
            extents.set(last, new Extent(previous.offset(), previous.length() + length, flags));
        } else {
            extents.add(new Extent(offset, length, flags));
        }
    }

    List<Extent> extents() {
        return extents;
    }

    /** Returns the extents collected so far and forgets them (a streamed scan hands them on). */
    List<Extent> drain() {
        List<Extent> taken = new ArrayList<>(extents);
        extents.clear();
        return taken;
    }

    /** Appends another accumulator's extents that continue this one, merging at the seam. */
    void appendAll(List<Extent> following) {
        for (Extent e : following) {
            if (e.offset() != position) {
                throw new IllegalArgumentException("extents at " + e.offset() + " do not continue " + position);
            }
            append(e.offset(), e.length(), e.flags());
            position = e.end();
        }
    }
}
