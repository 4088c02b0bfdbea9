package io.chainsync.core;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A blkhash-style digest of a layer's content read alone (docs/design.md §4, "Verification"):
 * the content is cut into {@link #BLOCK_SIZE} blocks (the last one short), each block hashed with
 * SHA-256, and the root is SHA-256 over a header (format, block size, size) and the block hashes
 * in order. An all-zero block's hash is a constant, so a range known to read as zeroes (SKIP,
 * ZERO, unallocated) costs nothing: it is neither read nor hashed. Equal roots mean equal content;
 * comparing block hashes in order finds the first differing block. Pure: no I/O.
 */
public final class BlockDigest {

    /** Bytes per block (blkhash's default). */
    public static final int BLOCK_SIZE = 64 * 1024;
    private static final String FORMAT = "chainsync-blkhash/1 sha256";
    private static final ConcurrentMap<Integer, byte[]> ZERO_HASHES = new ConcurrentHashMap<>();

    private final MessageDigest root = sha256();
    private final long size;
    private long added;

    /** A new tree over {@code size} bytes. */
    public BlockDigest(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("size " + size);
        }
        this.size = size;
        root.update((FORMAT + " " + BLOCK_SIZE + " " + size).getBytes(StandardCharsets.UTF_8));
    }

    /** Adds the next block's hash, in order. */
    public void add(byte[] blockHash) {
        if (added >= blocks(size)) {
            throw new IllegalStateException("more blocks than " + blocks(size));
        }
        root.update(blockHash);
        added++;
    }

    /** The root, once every block has been added: hex SHA-256. */
    public String root() {
        if (added != blocks(size)) {
            throw new IllegalStateException(added + " of " + blocks(size) + " blocks added");
        }
        return HexFormat.of().formatHex(root.digest());
    }

    /** The number of blocks of {@code size} bytes. */
    public static long blocks(long size) {
        return (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
    }

    /** The length of block {@code index} of a {@code size}-byte content. */
    public static int blockLength(long size, long index) {
        return (int) Math.min(BLOCK_SIZE, size - index * BLOCK_SIZE);
    }

    /** The hash of a block of {@code length} zero bytes (computed once per length). */
    public static byte[] zeroBlock(int length) {
        return ZERO_HASHES.computeIfAbsent(length, n -> sha256().digest(new byte[n])).clone();
    }

    /** The hash of the block's remaining bytes; an all-zero block gets {@link #zeroBlock}. */
    public static byte[] ofBlock(ByteBuffer block) {
        ByteBuffer b = block.duplicate();
        if (isZero(b)) {
            return zeroBlock(b.remaining());
        }
        MessageDigest sha = sha256();
        sha.update(b);
        return sha.digest();
    }

    /** Whether the buffer's remaining bytes are all zero. */
    public static boolean isZero(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate();
        while (b.remaining() >= Long.BYTES) {
            if (b.getLong() != 0) {
                return false;
            }
        }
        while (b.hasRemaining()) {
            if (b.get() != 0) {
                return false;
            }
        }
        return true;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
