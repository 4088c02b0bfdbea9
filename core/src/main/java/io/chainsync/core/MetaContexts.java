package io.chainsync.core;

/** Names and state bits of the NBD metadata contexts the decision core understands. */
public final class MetaContexts {

    /** The standard context: bit 0 hole, bit 1 zero. */
    public static final String BASE_ALLOCATION = "base:allocation";
    /** qemu's context: the depth in the backing chain that provides the range. */
    public static final String ALLOCATION_DEPTH = "qemu:allocation-depth";
    /** Prefix of qemu's dirty-bitmap contexts; the bitmap name follows. */
    public static final String DIRTY_BITMAP_PREFIX = "qemu:dirty-bitmap:";

    /** base:allocation: the range has no host storage (advisory). */
    public static final int STATE_HOLE = 1;
    /** base:allocation: the range reads as zeroes. */
    public static final int STATE_ZERO = 2;
    /** qemu:dirty-bitmap: the range is dirty. */
    public static final int STATE_DIRTY = 1;

    /** qemu:allocation-depth: no layer of the export provides the range. */
    public static final int DEPTH_ABSENT = 0;
    /** qemu:allocation-depth: the exported layer itself provides the range. */
    public static final int DEPTH_LOCAL = 1;

    private MetaContexts() {
    }

    public static String dirtyBitmap(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("dirty bitmap name must not be empty");
        }
        return DIRTY_BITMAP_PREFIX + name;
    }
}
