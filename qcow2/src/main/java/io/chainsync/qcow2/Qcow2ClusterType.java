package io.chainsync.qcow2;

import static io.chainsync.qcow2.Qcow2Constants.L2E_OFFSET_MASK;
import static io.chainsync.qcow2.Qcow2Constants.QCOW_OFLAG_COMPRESSED;
import static io.chainsync.qcow2.Qcow2Constants.QCOW_OFLAG_ZERO;

/** Type of a guest cluster as decoded from its L2 entry, like qemu's {@code QCow2ClusterType}. */
public enum Qcow2ClusterType {
    /** No host cluster, no zero flag: reads from the backing file (or zeros without one). */
    UNALLOCATED,
    /** Zero flag without a host cluster: reads as zeros, hides the backing file. */
    ZERO_PLAIN,
    /** Zero flag with a preallocated host cluster: reads as zeros. */
    ZERO_ALLOC,
    /** Data in a host cluster. */
    NORMAL,
    /** Compressed data. */
    COMPRESSED;

    /**
     * Decodes a (standard, non extended) L2 entry as qemu's {@code qcow2_get_cluster_type} does.
     *
     * @param l2Entry the L2 entry in host byte order
     * @param version the image version (2 has no zero flag)
     */
    public static Qcow2ClusterType of(long l2Entry, int version) {
        if ((l2Entry & QCOW_OFLAG_COMPRESSED) != 0) {
            return COMPRESSED;
        }
        if (version >= Qcow2Constants.QCOW_VERSION_3 && (l2Entry & QCOW_OFLAG_ZERO) != 0) {
            return (l2Entry & L2E_OFFSET_MASK) != 0 ? ZERO_ALLOC : ZERO_PLAIN;
        }
        return (l2Entry & L2E_OFFSET_MASK) != 0 ? NORMAL : UNALLOCATED;
    }

    /** True when this layer provides the cluster (qemu-img map "present"). */
    public boolean isAllocated() {
        return this != UNALLOCATED;
    }

    /** True when the cluster reads as zeros in this layer. */
    public boolean isZero() {
        return this == ZERO_PLAIN || this == ZERO_ALLOC;
    }
}
