package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdConstants;

/**
 * The export's size constraints from {@code NBD_INFO_BLOCK_SIZE}, or the spec's defaults (1, 4096,
 * 32 MiB) when the server sent none.
 *
 * @param minimum minimum block size: every offset and length must be a multiple of it (power of 2, at most 64 KiB)
 * @param preferred preferred block size for efficient I/O
 * @param maximum maximum payload size of one READ or WRITE (unsigned 32-bit; 0xffffffff means no limit)
 */
public record BlockSize(int minimum, int preferred, long maximum) {

    /** The client never sends READ/WRITE payloads over 32 MiB, whatever the server allows. */
    public static final int CLIENT_MAX_PAYLOAD = NbdConstants.DEFAULT_MAX_PAYLOAD;

    public BlockSize {
        if (minimum < 1 || minimum > 65536 || Integer.bitCount(minimum) != 1) {
            throw new IllegalArgumentException("minimum block size must be a power of 2 up to 64 KiB: " + minimum);
        }
        if (preferred < 1) {
            throw new IllegalArgumentException("preferred block size must be positive: " + preferred);
        }
        if (maximum < minimum || maximum > 0xffff_ffffL) {
            throw new IllegalArgumentException("maximum payload size must be in [minimum, 2^32): " + maximum);
        }
    }

    /** The spec's defaults when no constraints were advertised. */
    public static BlockSize defaults() {
        return new BlockSize(1, 4096, NbdConstants.DEFAULT_MAX_PAYLOAD);
    }

    /** Largest READ/WRITE this client sends: min(maximum, 32 MiB), rounded down to the minimum block size. */
    public int maxRequest() {
        long max = Math.min(maximum, CLIENT_MAX_PAYLOAD);
        return (int) (max - max % minimum);
    }
}
