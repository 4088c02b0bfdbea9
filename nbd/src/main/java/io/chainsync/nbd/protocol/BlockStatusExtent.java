package io.chainsync.nbd.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One block status descriptor, 8 bytes:
 *
 * <pre>
 * 32 bits, length of the extent to which the status below applies (unsigned, MUST be nonzero)
 * 32 bits, status flags
 * </pre>
 *
 * <p>After merging adjacent descriptors with equal flags the length may exceed 32 bits, so it is held
 * as a {@code long}.
 *
 * @param length extent length in bytes, positive
 * @param flags status flags, meaning defined by the metadata context
 */
public record BlockStatusExtent(long length, int flags) {

    /** Size of one descriptor on the wire. */
    public static final int SIZE = 8;

    public BlockStatusExtent {
        if (length <= 0) {
            throw new IllegalArgumentException("extent length must be positive: " + length);
        }
    }

    /** Writes the 8-byte descriptor; the length must fit an unsigned 32-bit value. */
    public void encode(ByteBuffer out) {
        if (length > Wire.UINT32_MAX) {
            throw new IllegalStateException("extent length does not fit 32 bits: " + length);
        }
        out.putInt((int) length);
        out.putInt(flags);
    }

    /** Reads an 8-byte descriptor, rejecting a zero length. */
    public static BlockStatusExtent decode(ByteBuffer in) throws NbdProtocolException {
        long length = Wire.uint32(in.getInt());
        int flags = in.getInt();
        if (length == 0) {
            throw new NbdProtocolException("block status descriptor with zero length");
        }
        return new BlockStatusExtent(length, flags);
    }

    /** Returns a new list where adjacent extents with equal flags are joined. */
    public static List<BlockStatusExtent> merge(List<BlockStatusExtent> extents) {
        List<BlockStatusExtent> merged = new ArrayList<>(extents.size());
        BlockStatusExtent current = null;
        for (BlockStatusExtent extent : extents) {
            if (current != null && current.flags == extent.flags) {
                current = new BlockStatusExtent(current.length + extent.length, current.flags);
            } else {
                if (current != null) {
                    merged.add(current);
                }
                current = extent;
            }
        }
        if (current != null) {
            merged.add(current);
        }
        return merged;
    }
}
