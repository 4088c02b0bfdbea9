package io.chainsync.testkit;

/**
 * One entry of {@code qemu-img map --output=json}.
 *
 * @param start   guest offset
 * @param length  bytes
 * @param depth   0 = the opened image itself, N = N-th backing file (with {@code backing:null}
 *                always 0)
 * @param present the opened chain provides these bytes (false = reads as zero because no layer has
 *                them); with {@code backing:null} this is exactly "this layer owns the range"
 * @param zero    reads as zeroes
 * @param data    has host data (false for zero clusters and holes)
 * @param offset  host offset in the file at {@code depth}, or {@code null} when not reported
 */
public record MapEntry(long start, long length, int depth, boolean present, boolean zero, boolean data,
                       Long offset) {

    /** {@code [start, start+length)}. */
    public Range range() {
        return Range.ofLength(start, length);
    }
}
