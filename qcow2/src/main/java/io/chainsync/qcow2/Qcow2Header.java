package io.chainsync.qcow2;

import io.chainsync.core.ClusterSizes;

import static io.chainsync.qcow2.Qcow2Constants.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The fixed part of a qcow2 header (field names from {@code QCowHeader} in qemu's {@code block/qcow2.h}).
 *
 * <pre>
 *   0 magic  4 version  8 backing_file_offset  16 backing_file_size  20 cluster_bits  24 size
 *  32 crypt_method  36 l1_size  40 l1_table_offset  48 refcount_table_offset
 *  56 refcount_table_clusters  60 nb_snapshots  64 snapshots_offset
 *  --- v3 ---
 *  72 incompatible_features  80 compatible_features  88 autoclear_features
 *  96 refcount_order  100 header_length
 * </pre>
 * For version 2 the v3 fields read as 0, refcount_order as 4 and header_length as 72.
 */
public record Qcow2Header(int version, long backingFileOffset, int backingFileSize, int clusterBits, long size,
                          int cryptMethod, int l1Size, long l1TableOffset, long refcountTableOffset,
                          int refcountTableClusters, int nbSnapshots, long snapshotsOffset,
                          long incompatibleFeatures, long compatibleFeatures, long autoclearFeatures,
                          int refcountOrder, int headerLength) {

    /** Bytes of a header extension header (type + length). */
    static final int EXT_HEADER_BYTES = 8;

    public long clusterSize() {
        return 1L << clusterBits;
    }

    /**
     * Encodes the fixed header into {@code buf} at absolute positions 0.. (big endian), without
     * touching buf's position. Version 2 headers write only 72 bytes.
     */
    public void encode(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.BIG_ENDIAN);
        b.putInt(HDR_MAGIC, QCOW_MAGIC);
        b.putInt(HDR_VERSION, version);
        b.putLong(HDR_BACKING_FILE_OFFSET, backingFileOffset);
        b.putInt(HDR_BACKING_FILE_SIZE, backingFileSize);
        b.putInt(HDR_CLUSTER_BITS, clusterBits);
        b.putLong(HDR_SIZE, size);
        b.putInt(HDR_CRYPT_METHOD, cryptMethod);
        b.putInt(HDR_L1_SIZE, l1Size);
        b.putLong(HDR_L1_TABLE_OFFSET, l1TableOffset);
        b.putLong(HDR_REFCOUNT_TABLE_OFFSET, refcountTableOffset);
        b.putInt(HDR_REFCOUNT_TABLE_CLUSTERS, refcountTableClusters);
        b.putInt(HDR_NB_SNAPSHOTS, nbSnapshots);
        b.putLong(HDR_SNAPSHOTS_OFFSET, snapshotsOffset);
        if (version >= QCOW_VERSION_3) {
            b.putLong(HDR_INCOMPATIBLE_FEATURES, incompatibleFeatures);
            b.putLong(HDR_COMPATIBLE_FEATURES, compatibleFeatures);
            b.putLong(HDR_AUTOCLEAR_FEATURES, autoclearFeatures);
            b.putInt(HDR_REFCOUNT_ORDER, refcountOrder);
            b.putInt(HDR_HEADER_LENGTH, headerLength);
        }
    }

    /**
     * Decodes and validates the fixed header from {@code buf} at absolute positions 0.. .
     *
     * @throws Qcow2FormatException on a bad magic, an unknown version or an inconsistent field
     */
    public static Qcow2Header decode(ByteBuffer buf) throws Qcow2FormatException {
        ByteBuffer b = buf.duplicate().order(ByteOrder.BIG_ENDIAN);
        if (b.limit() < QCOW2_V2_HEADER_LENGTH) {
            throw new Qcow2FormatException("file too short for a qcow2 header: " + b.limit() + " bytes");
        }
        int magic = b.getInt(HDR_MAGIC);
        if (magic != QCOW_MAGIC) {
            throw new Qcow2FormatException(String.format("not a qcow2 image: magic 0x%08x", magic));
        }
        int version = b.getInt(HDR_VERSION);
        if (version != QCOW_VERSION_2 && version != QCOW_VERSION_3) {
            throw new Qcow2FormatException("unsupported qcow2 version " + version);
        }
        long incompatible = 0;
        long compatible = 0;
        long autoclear = 0;
        int refcountOrder = DEFAULT_REFCOUNT_ORDER;
        int headerLength = QCOW2_V2_HEADER_LENGTH;
        if (version >= QCOW_VERSION_3) {
            if (b.limit() < QCOW2_V3_HEADER_LENGTH) {
                throw new Qcow2FormatException("file too short for a qcow2 v3 header: " + b.limit() + " bytes");
            }
            incompatible = b.getLong(HDR_INCOMPATIBLE_FEATURES);
            compatible = b.getLong(HDR_COMPATIBLE_FEATURES);
            autoclear = b.getLong(HDR_AUTOCLEAR_FEATURES);
            refcountOrder = b.getInt(HDR_REFCOUNT_ORDER);
            headerLength = b.getInt(HDR_HEADER_LENGTH);
            if (headerLength < QCOW2_V3_HEADER_LENGTH || headerLength % 8 != 0) {
                throw new Qcow2FormatException("invalid header_length " + headerLength
                        + " (must be >= 104 and a multiple of 8)");
            }
            if (refcountOrder < 0 || refcountOrder > MAX_REFCOUNT_ORDER) {
                throw new Qcow2FormatException("invalid refcount_order " + refcountOrder);
            }
        }
        int clusterBits = b.getInt(HDR_CLUSTER_BITS);
        if (clusterBits < ClusterSizes.MIN_BITS || clusterBits > ClusterSizes.MAX_BITS) {
            throw new Qcow2FormatException("unsupported cluster_bits " + clusterBits);
        }
        if (headerLength > (1 << clusterBits)) {
            throw new Qcow2FormatException("header_length " + headerLength + " exceeds the first cluster");
        }
        long size = b.getLong(HDR_SIZE);
        if (size < 0) {
            throw new Qcow2FormatException("negative virtual size " + size);
        }
        int backingFileSize = b.getInt(HDR_BACKING_FILE_SIZE);
        long backingFileOffset = b.getLong(HDR_BACKING_FILE_OFFSET);
        if (backingFileOffset != 0 && (backingFileSize < 0 || backingFileSize > QCOW_MAX_BACKING_FILE_NAME)) {
            throw new Qcow2FormatException("backing file name too long: " + Integer.toUnsignedString(backingFileSize));
        }
        return new Qcow2Header(version, backingFileOffset, backingFileSize, clusterBits, size,
                b.getInt(HDR_CRYPT_METHOD), b.getInt(HDR_L1_SIZE), b.getLong(HDR_L1_TABLE_OFFSET),
                b.getLong(HDR_REFCOUNT_TABLE_OFFSET), b.getInt(HDR_REFCOUNT_TABLE_CLUSTERS),
                b.getInt(HDR_NB_SNAPSHOTS), b.getLong(HDR_SNAPSHOTS_OFFSET),
                incompatible, compatible, autoclear, refcountOrder, headerLength);
    }

    /**
     * Bytes the first cluster needs for a v3 header ({@value Qcow2Constants#QCOW2_V3_HEADER_LENGTH}),
     * the backing format extension (if any), the end-of-extensions marker and the backing file name.
     */
    public static int firstClusterBytes(String backingFile, String backingFormat) {
        int n = QCOW2_V3_HEADER_LENGTH;
        if (backingFormat != null) {
            n += EXT_HEADER_BYTES + align8(utf8(backingFormat).length);
        }
        n += EXT_HEADER_BYTES; // end marker
        if (backingFile != null) {
            n += utf8(backingFile).length;
        }
        return n;
    }

    /**
     * Validates backing file name and format for a layer with clusters of {@code 1 << clusterBits}.
     *
     * @throws IllegalArgumentException with the reason
     */
    public static void checkBacking(String backingFile, String backingFormat, int clusterBits) {
        if (backingFile == null) {
            if (backingFormat != null) {
                throw new IllegalArgumentException("backing format '" + backingFormat + "' without a backing file");
            }
            return;
        }
        byte[] name = utf8(backingFile);
        if (name.length == 0) {
            throw new IllegalArgumentException("backing file name is empty (use null for no backing file)");
        }
        if (name.length > QCOW_MAX_BACKING_FILE_NAME) {
            throw new IllegalArgumentException("backing file name is " + name.length
                    + " bytes, qcow2 allows at most " + QCOW_MAX_BACKING_FILE_NAME);
        }
        if (backingFile.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("backing file name contains a NUL character");
        }
        if (backingFormat != null) {
            byte[] fmt = utf8(backingFormat);
            if (fmt.length == 0 || fmt.length > QCOW_MAX_BACKING_FORMAT_NAME) {
                throw new IllegalArgumentException("backing format name must be 1.." + QCOW_MAX_BACKING_FORMAT_NAME
                        + " bytes, got '" + backingFormat + "'");
            }
        }
        int need = firstClusterBytes(backingFile, backingFormat);
        if (need > (1 << clusterBits)) {
            throw new IllegalArgumentException("header (" + QCOW2_V3_HEADER_LENGTH + " bytes), header extensions"
                    + " and backing file name (" + name.length + " bytes) need " + need
                    + " bytes but must fit in the first cluster of " + (1 << clusterBits)
                    + " bytes; use a shorter backing file name or a larger cluster size");
        }
    }

    /**
     * Encodes a complete first cluster of a v3 image written by {@link Qcow2Writer}: header (104 bytes,
     * no features, 16-bit refcounts), backing-format extension, end marker, then the backing file name.
     */
    public static ByteBuffer encodeFirstCluster(int clusterBits, long size, int l1Size, long l1TableOffset,
                                                long refcountTableOffset, int refcountTableClusters,
                                                String backingFile, String backingFormat) {
        checkBacking(backingFile, backingFormat, clusterBits);
        ByteBuffer buf = ByteBuffer.allocate(1 << clusterBits).order(ByteOrder.BIG_ENDIAN);
        buf.position(QCOW2_V3_HEADER_LENGTH);
        if (backingFormat != null) {
            byte[] fmt = utf8(backingFormat);
            buf.putInt(QCOW2_EXT_MAGIC_BACKING_FORMAT);
            buf.putInt(fmt.length);
            buf.put(fmt);
            buf.position(buf.position() + align8(fmt.length) - fmt.length);
        }
        buf.putInt(QCOW2_EXT_MAGIC_END);
        buf.putInt(0);
        long backingOffset = 0;
        int backingSize = 0;
        if (backingFile != null) {
            byte[] name = utf8(backingFile);
            backingOffset = buf.position();
            backingSize = name.length;
            buf.put(name);
        }
        Qcow2Header h = new Qcow2Header(QCOW_VERSION_3, backingOffset, backingSize, clusterBits, size,
                QCOW_CRYPT_NONE, l1Size, l1TableOffset, refcountTableOffset, refcountTableClusters, 0, 0,
                0, 0, 0, DEFAULT_REFCOUNT_ORDER, QCOW2_V3_HEADER_LENGTH);
        h.encode(buf);
        buf.clear();
        return buf;
    }

    static int align8(int n) {
        return (n + 7) & ~7;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
