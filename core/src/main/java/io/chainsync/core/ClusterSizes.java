package io.chainsync.core;

/**
 * The cluster sizes a destination layer may have: qcow2's 512 B .. 2 MiB, powers of two
 * ({@code cluster_bits} 9 .. 21 in qemu's {@code block/qcow2.h}). A raw layer uses the same grid
 * for its decisions. The one definition of these bounds.
 */
public final class ClusterSizes {

    /** The smallest cluster, 512 bytes. */
    public static final int MIN_BITS = 9;
    /** The largest cluster, 2 MiB. */
    public static final int MAX_BITS = 21;
    /** The cluster size chosen when the source allows it, 64 KiB. */
    public static final int DEFAULT_BITS = 16;
    /** How many cluster sizes there are. */
    public static final int COUNT = MAX_BITS - MIN_BITS + 1;

    private ClusterSizes() {
    }

    /** Whether {@code bits} is a valid cluster_bits. */
    public static boolean valid(int bits) {
        return bits >= MIN_BITS && bits <= MAX_BITS;
    }

    /**
     * The cluster_bits of a size given in bytes.
     *
     * @throws IllegalArgumentException unless a power of two from 512 to 2097152
     */
    public static int bitsOf(long bytes) {
        if (Long.bitCount(bytes) != 1 || !valid(Long.numberOfTrailingZeros(bytes))) {
            throw new IllegalArgumentException("cluster size must be a power of two from 512 to 2097152: " + bytes);
        }
        return Long.numberOfTrailingZeros(bytes);
    }
}
