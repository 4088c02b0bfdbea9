package io.chainsync.qcow2;

import io.chainsync.core.ClusterSizes;

import static io.chainsync.qcow2.Qcow2Constants.BDRV_SECTOR_SIZE;
import static io.chainsync.qcow2.Qcow2Constants.DEFAULT_REFCOUNT_ORDER;
import static io.chainsync.qcow2.Qcow2Constants.L1E_SIZE;
import static io.chainsync.qcow2.Qcow2Constants.L2E_SIZE_NORMAL;
import static io.chainsync.core.ClusterSizes.MAX_BITS;
import static io.chainsync.core.ClusterSizes.MIN_BITS;
import static io.chainsync.qcow2.Qcow2Constants.QCOW_MAX_L1_SIZE;
import static io.chainsync.qcow2.Qcow2Constants.REFTABLE_ENTRY_SIZE;

/**
 * Pure layout arithmetic of qcow2 (no I/O), with qemu's names where qemu has one
 * ({@code size_to_clusters}, {@code size_to_l1}, {@code offset_to_l1_index}, {@code offset_to_l2_index}).
 */
public final class Qcow2Layout {

    /** Clusters before the first data cluster in files written by {@link Qcow2Writer}: the header. */
    public static final int HEADER_CLUSTERS = 1;

    private Qcow2Layout() {
        throw new AssertionError("static only");
    }

    /** @throws IllegalArgumentException unless {@code ClusterSizes.MIN_BITS <= clusterBits <= ClusterSizes.MAX_BITS} */
    public static void checkClusterBits(int clusterBits) {
        if (clusterBits < ClusterSizes.MIN_BITS || clusterBits > ClusterSizes.MAX_BITS) {
            throw new IllegalArgumentException("cluster_bits must be in [" + ClusterSizes.MIN_BITS + ", "
                    + ClusterSizes.MAX_BITS + "] (512 B .. 2 MiB clusters), got " + clusterBits);
        }
    }

    /** Number of entries in one L2 table (standard, non extended entries): cluster_size / 8. */
    public static int l2Entries(int clusterBits) {
        return 1 << l2Bits(clusterBits);
    }

    /** log2 of {@link #l2Entries(int)}. */
    public static int l2Bits(int clusterBits) {
        return clusterBits - 3;
    }

    /** Number of clusters needed to hold {@code size} bytes (qemu {@code size_to_clusters}). */
    public static long sizeToClusters(long size, int clusterBits) {
        return ceilShift(size, clusterBits);
    }

    /** Number of L1 entries needed to map {@code virtualSize} bytes (qemu {@code size_to_l1}). */
    public static long sizeToL1(long virtualSize, int clusterBits) {
        return ceilShift(virtualSize, clusterBits + l2Bits(clusterBits));
    }

    /** L1 index of a guest cluster. */
    public static long clusterToL1Index(long guestCluster, int clusterBits) {
        return guestCluster >>> l2Bits(clusterBits);
    }

    /** L2 index of a guest cluster. */
    public static int clusterToL2Index(long guestCluster, int clusterBits) {
        return (int) (guestCluster & (l2Entries(clusterBits) - 1));
    }

    /** qemu {@code offset_to_l1_index}. */
    public static long offsetToL1Index(long guestOffset, int clusterBits) {
        return guestOffset >>> (clusterBits + l2Bits(clusterBits));
    }

    /** qemu {@code offset_to_l2_index}. */
    public static int offsetToL2Index(long guestOffset, int clusterBits) {
        return clusterToL2Index(guestOffset >>> clusterBits, clusterBits);
    }

    /** Refcount entries per refcount block: cluster_size * 8 / refcount_bits. */
    public static long refcountBlockEntries(int clusterBits, int refcountOrder) {
        return 1L << (clusterBits + 3 - refcountOrder);
    }

    /**
     * Validates a virtual size against what qemu accepts for a qcow2 image with this cluster size:
     * positive, a multiple of 512 (qemu silently truncates other sizes to sectors), and an L1 table
     * no larger than qemu's 32 MiB limit.
     */
    public static void checkVirtualSize(long virtualSize, int clusterBits) {
        checkClusterBits(clusterBits);
        if (virtualSize <= 0) {
            throw new IllegalArgumentException("virtual size must be positive, got " + virtualSize);
        }
        if (virtualSize % BDRV_SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("virtual size must be a multiple of " + BDRV_SECTOR_SIZE
                    + " bytes (qemu truncates other sizes), got " + virtualSize);
        }
        long l1Size = sizeToL1(virtualSize, clusterBits);
        if (l1Size * L1E_SIZE > QCOW_MAX_L1_SIZE) {
            throw new IllegalArgumentException("virtual size " + virtualSize + " needs an L1 table of "
                    + l1Size * L1E_SIZE + " bytes, above qemu's limit of " + QCOW_MAX_L1_SIZE
                    + " bytes; use a larger cluster size than " + (1L << clusterBits));
        }
    }

    /**
     * Sizes the refcount structures of an image, taking into account that refcount blocks and the
     * refcount table are clusters that need refcounts themselves.
     *
     * <p>{@code otherClusters} is the number of host clusters, counted from host cluster 0, that the
     * refcount structures must cover before they are appended: header, data, L2 tables and L1 table,
     * including unused clusters in between. The refcount blocks follow immediately, then the refcount
     * table. The result is the smallest fixed point of
     * <pre>
     *   total  = otherClusters + blocks + tableClusters
     *   blocks = ceil(total / refcount_block_entries)
     *   tableClusters = ceil(blocks * 8 / cluster_size)
     * </pre>
     * found by iterating from zero (both right-hand sides are monotone, so the iteration only grows
     * and stops at the least fixed point).
     */
    public static RefcountSizing refcountSizing(long otherClusters, int clusterBits, int refcountOrder) {
        checkClusterBits(clusterBits);
        if (otherClusters < 0) {
            throw new IllegalArgumentException("otherClusters must be >= 0, got " + otherClusters);
        }
        long entries = refcountBlockEntries(clusterBits, refcountOrder);
        long blocks = 0;
        long tableClusters = 0;
        while (true) {
            long total = otherClusters + blocks + tableClusters;
            long newBlocks = ceilDiv(total, entries);
            long newTable = Math.max(1, ceilShift(newBlocks * REFTABLE_ENTRY_SIZE, clusterBits));
            if (newBlocks == blocks && newTable == tableClusters) {
                return new RefcountSizing(otherClusters, blocks, tableClusters, total);
            }
            blocks = newBlocks;
            tableClusters = newTable;
        }
    }

    /** Refcount sizing with 16-bit refcounts. */
    public static RefcountSizing refcountSizing(long otherClusters, int clusterBits) {
        return refcountSizing(otherClusters, clusterBits, DEFAULT_REFCOUNT_ORDER);
    }

    /**
     * Result of {@link #refcountSizing}.
     *
     * @param otherClusters        clusters covered before the refcount structures
     * @param refcountBlocks       refcount blocks (one cluster each), placed right after them
     * @param refcountTableClusters clusters of the refcount table, placed after the blocks
     * @param totalClusters        host clusters of the whole image
     */
    public record RefcountSizing(long otherClusters, long refcountBlocks, long refcountTableClusters,
                                 long totalClusters) {
    }

    /** Bytes of a cluster-sized L2 table. */
    public static int l2TableBytes(int clusterBits) {
        return l2Entries(clusterBits) * L2E_SIZE_NORMAL;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    static long ceilShift(long a, int bits) {
        return (a + (1L << bits) - 1) >>> bits;
    }
}
