package io.chainsync.qcow2;

/**
 * On-disk constants of the qcow2 format, named as in qemu's {@code block/qcow2.h} and
 * {@code docs/interop/qcow2.txt}. All multi-byte numbers in qcow2 are big endian.
 */
public final class Qcow2Constants {

    private Qcow2Constants() {
        throw new AssertionError("constants only");
    }

    /** {@code "QFI\xfb"}. */
    public static final int QCOW_MAGIC = ('Q' << 24) | ('F' << 16) | ('I' << 8) | 0xfb;

    public static final int QCOW_VERSION_2 = 2;
    public static final int QCOW_VERSION_3 = 3;

    // ---- header field offsets (bytes from the start of the file) ----
    public static final int HDR_MAGIC = 0;
    public static final int HDR_VERSION = 4;
    public static final int HDR_BACKING_FILE_OFFSET = 8;
    public static final int HDR_BACKING_FILE_SIZE = 16;
    public static final int HDR_CLUSTER_BITS = 20;
    public static final int HDR_SIZE = 24;
    public static final int HDR_CRYPT_METHOD = 32;
    public static final int HDR_L1_SIZE = 36;
    public static final int HDR_L1_TABLE_OFFSET = 40;
    public static final int HDR_REFCOUNT_TABLE_OFFSET = 48;
    public static final int HDR_REFCOUNT_TABLE_CLUSTERS = 56;
    public static final int HDR_NB_SNAPSHOTS = 60;
    public static final int HDR_SNAPSHOTS_OFFSET = 64;
    /** Version 3 fields. */
    public static final int HDR_INCOMPATIBLE_FEATURES = 72;
    public static final int HDR_COMPATIBLE_FEATURES = 80;
    public static final int HDR_AUTOCLEAR_FEATURES = 88;
    public static final int HDR_REFCOUNT_ORDER = 96;
    public static final int HDR_HEADER_LENGTH = 100;
    /** Optional v3 field, present when header_length &gt; 104. */
    public static final int HDR_COMPRESSION_TYPE = 104;

    /** Length of a version 2 header. */
    public static final int QCOW2_V2_HEADER_LENGTH = 72;
    /** Minimum (and our) length of a version 3 header. */
    public static final int QCOW2_V3_HEADER_LENGTH = 104;

    // ---- header extensions ----
    public static final int QCOW2_EXT_MAGIC_END = 0;
    public static final int QCOW2_EXT_MAGIC_BACKING_FORMAT = 0xE2792ACA;
    public static final int QCOW2_EXT_MAGIC_FEATURE_TABLE = 0x6803f857;
    public static final int QCOW2_EXT_MAGIC_BITMAPS = 0x23852875;
    public static final int QCOW2_EXT_MAGIC_CRYPTO_HEADER = 0x0537be77;
    public static final int QCOW2_EXT_MAGIC_DATA_FILE = 0x44415441;

    // ---- crypt_method ----
    public static final int QCOW_CRYPT_NONE = 0;
    public static final int QCOW_CRYPT_AES = 1;
    public static final int QCOW_CRYPT_LUKS = 2;

    // ---- incompatible features ----
    public static final long QCOW2_INCOMPAT_DIRTY = 1L << 0;
    public static final long QCOW2_INCOMPAT_CORRUPT = 1L << 1;
    public static final long QCOW2_INCOMPAT_DATA_FILE = 1L << 2;
    public static final long QCOW2_INCOMPAT_COMPRESSION = 1L << 3;
    public static final long QCOW2_INCOMPAT_EXTL2 = 1L << 4;
    public static final long QCOW2_INCOMPAT_MASK = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT
            | QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2;

    // ---- compatible / autoclear features ----
    public static final long QCOW2_COMPAT_LAZY_REFCOUNTS = 1L << 0;
    public static final long QCOW2_AUTOCLEAR_BITMAPS = 1L << 0;
    public static final long QCOW2_AUTOCLEAR_DATA_FILE_RAW = 1L << 1;

    // ---- table entries ----
    public static final int L1E_SIZE = 8;
    public static final int L2E_SIZE_NORMAL = 8;
    public static final int REFTABLE_ENTRY_SIZE = 8;

    public static final long L1E_OFFSET_MASK = 0x00fffffffffffe00L;
    public static final long L1E_RESERVED_MASK = 0x7f000000000001ffL;
    public static final long L2E_OFFSET_MASK = 0x00fffffffffffe00L;
    public static final long L2E_STD_RESERVED_MASK = 0x3f000000000001feL;
    public static final long L2E_COMPRESSED_OFFSET_SIZE_MASK = 0x3fffffffffffffffL;
    public static final long REFT_OFFSET_MASK = 0xfffffffffffffe00L;
    public static final long REFT_RESERVED_MASK = 0x1ffL;

    /** The refcount of the referenced cluster is exactly one (L1 and L2 entries). */
    public static final long QCOW_OFLAG_COPIED = 1L << 63;
    /** The cluster is compressed (never together with COPIED). */
    public static final long QCOW_OFLAG_COMPRESSED = 1L << 62;
    /** The cluster reads as all zeros (v3 standard cluster descriptor bit 0). */
    public static final long QCOW_OFLAG_ZERO = 1L << 0;

    /** Unit of compressed cluster sizes. */
    public static final int QCOW2_COMPRESSED_SECTOR_SIZE = 512;

    // ---- limits ----
    // cluster_bits bounds: io.chainsync.core.ClusterSizes
    /** refcount_bits = 1 &lt;&lt; refcount_order; we always write 16-bit refcounts. */
    public static final int DEFAULT_REFCOUNT_ORDER = 4;
    public static final int MAX_REFCOUNT_ORDER = 6;
    /** qemu implementation limit on the L1 table size in bytes (32 MiB). */
    public static final long QCOW_MAX_L1_SIZE = 0x2000000L;
    /** qemu implementation limit on the refcount table size in bytes (8 MiB). */
    public static final long QCOW_MAX_REFTABLE_SIZE = 0x800000L;
    /** Backing file names must not be longer than this (bytes). */
    public static final int QCOW_MAX_BACKING_FILE_NAME = 1023;
    /** qemu stores the backing format in a char[16]: at most 15 bytes. */
    public static final int QCOW_MAX_BACKING_FORMAT_NAME = 15;
    /** Host offsets of L1/L2 entries are bits 9-55: every cluster must start below 64 PiB. */
    public static final long QCOW_MAX_HOST_OFFSET = 1L << 56;
    /** qemu's block layer works in sectors: virtual sizes must be multiples of this. */
    public static final int BDRV_SECTOR_SIZE = 512;
}
