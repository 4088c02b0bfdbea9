package io.chainsync.qcow2;

import io.chainsync.core.ClusterSizes;

import static io.chainsync.qcow2.Qcow2Constants.*;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one qcow2 layer on its own (the backing file is never opened): header (v2/v3), backing file
 * name and format, L1/L2 mapping per guest cluster, guest bytes of this layer alone, and a refcount
 * consistency check.
 *
 * <p>Refuses images with encryption, external data files, extended L2 entries (subclusters) or unknown
 * incompatible features. Compressed clusters are mapped but cannot be read. Not thread-safe: methods
 * are synchronized.
 */
public final class Qcow2Reader implements Closeable {

    private static final int L2_CACHE_TABLES = 64;

    private final Path path;
    private final FileChannel channel;
    private final Qcow2Header header;
    private final String backingFile;
    private final String backingFormat;
    private final int clusterBits;
    private final long clusterSize;
    private final int l2Bits;
    private final long[] l1Table;
    private final Map<Long, long[]> l2Cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
            return size() > L2_CACHE_TABLES;
        }
    };

    private Qcow2Reader(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        long fileSize = channel.size();
        ByteBuffer first = readAt(0, (int) Math.min(fileSize, 1L << ClusterSizes.MAX_BITS));
        this.header = Qcow2Header.decode(first);
        this.clusterBits = header.clusterBits();
        this.clusterSize = 1L << clusterBits;
        this.l2Bits = Qcow2Layout.l2Bits(clusterBits);
        checkSupported(header);

        String fmt = null;
        int extEnd = (int) Math.min(first.limit(), clusterSize);
        if (header.backingFileOffset() > 0 && header.backingFileOffset() < extEnd) {
            extEnd = (int) header.backingFileOffset();
        }
        int pos = header.headerLength();
        ByteBuffer b = first.duplicate().order(ByteOrder.BIG_ENDIAN);
        while (pos + Qcow2Header.EXT_HEADER_BYTES <= extEnd) { // v2 images have extensions too
            int type = b.getInt(pos);
            long len = Integer.toUnsignedLong(b.getInt(pos + 4));
            if (type == QCOW2_EXT_MAGIC_END) {
                break;
            }
            if (pos + Qcow2Header.EXT_HEADER_BYTES + len > extEnd) {
                throw new Qcow2FormatException(String.format("header extension 0x%08x of %d bytes overruns"
                        + " the header area", type, len));
            }
            if (type == QCOW2_EXT_MAGIC_BACKING_FORMAT) {
                byte[] s = new byte[(int) len];
                b.get(pos + Qcow2Header.EXT_HEADER_BYTES, s);
                fmt = new String(s, StandardCharsets.UTF_8);
            }
            pos += Qcow2Header.EXT_HEADER_BYTES + (int) ((len + 7) & ~7L);
        }
        this.backingFormat = fmt;
        this.backingFile = backingFile(channel, header, fileSize);

        long l1Size = Integer.toUnsignedLong(header.l1Size());
        if (l1Size * L1E_SIZE > QCOW_MAX_L1_SIZE) {
            throw new Qcow2FormatException("L1 table of " + l1Size + " entries is too large");
        }
        if (l1Size < Qcow2Layout.sizeToL1(header.size(), clusterBits)) {
            throw new Qcow2FormatException("L1 table of " + l1Size + " entries is too small for size "
                    + header.size());
        }
        if (l1Size > 0) {
            if ((header.l1TableOffset() & (clusterSize - 1)) != 0 || header.l1TableOffset() <= 0) {
                throw new Qcow2FormatException("L1 table offset " + header.l1TableOffset() + " invalid");
            }
            if (header.l1TableOffset() + l1Size * L1E_SIZE > fileSize) {
                throw new Qcow2FormatException("L1 table lies beyond the end of the file");
            }
        }
        this.l1Table = readLongs(header.l1TableOffset(), (int) l1Size);
    }

    private static void checkSupported(Qcow2Header h) throws Qcow2FormatException {
        if (h.cryptMethod() != QCOW_CRYPT_NONE) {
            throw new Qcow2FormatException("encrypted qcow2 images are not supported (crypt_method "
                    + h.cryptMethod() + ")");
        }
        long incompat = h.incompatibleFeatures();
        long unknown = incompat & ~QCOW2_INCOMPAT_MASK;
        if (unknown != 0) {
            throw new Qcow2FormatException(String.format("unsupported qcow2 feature(s): unknown incompatible"
                    + " feature bits 0x%x", unknown));
        }
        if ((incompat & QCOW2_INCOMPAT_EXTL2) != 0) {
            throw new Qcow2FormatException("unsupported qcow2 feature: extended_l2 (subclusters)");
        }
        if ((incompat & QCOW2_INCOMPAT_DATA_FILE) != 0) {
            throw new Qcow2FormatException("unsupported qcow2 feature: external data file");
        }
    }

    /** The backing file name of {@code header}'s image on {@code channel}, or null when it has none. */
    private static String backingFile(FileChannel channel, Qcow2Header header, long fileSize) throws IOException {
        if (header.backingFileOffset() == 0) {
            return null;
        }
        if (header.backingFileOffset() + header.backingFileSize() > fileSize) {
            throw new Qcow2FormatException("backing file name lies beyond the end of the file");
        }
        return StandardCharsets.UTF_8.decode(readAt(channel, header.backingFileOffset(), header.backingFileSize()))
                .toString();
    }

    /**
     * Whether the file on {@code channel} begins with the qcow2 magic (any version). A file that
     * does not is no qcow2 image at all, e.g. a layer whose header is not written yet.
     */
    public static boolean hasMagic(FileChannel channel) throws IOException {
        return channel.size() >= 4 && readAt(channel, 0, 4).getInt(0) == QCOW_MAGIC;
    }

    /**
     * The backing file name recorded in the image on {@code channel}, or null when it names none.
     * Only the header and the name are read: any version 2 or 3 image answers, whatever its
     * features (unlike {@link #open}, which refuses what it cannot map).
     *
     * @throws Qcow2FormatException when it is not a qcow2 image or its header is invalid
     */
    public static String backingFileOf(FileChannel channel) throws IOException {
        long fileSize = channel.size();
        Qcow2Header header = Qcow2Header.decode(readAt(channel, 0, (int) Math.min(fileSize, 4096)));
        return backingFile(channel, header, fileSize);
    }

    /** Opens {@code path} read-only. */
    public static Qcow2Reader open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new Qcow2Reader(path, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public Qcow2Header header() {
        return header;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return header.version();
    }

    public int clusterBits() {
        return clusterBits;
    }

    public long clusterSize() {
        return clusterSize;
    }

    public long virtualSize() {
        return header.size();
    }

    /** Guest clusters, the last one possibly partial. */
    public long guestClusters() {
        return Qcow2Layout.sizeToClusters(header.size(), clusterBits);
    }

    /** Backing file name as stored, or null. */
    public String backingFile() {
        return backingFile;
    }

    /** Backing format from the header extension, or null. */
    public String backingFormat() {
        return backingFormat;
    }

    /** A copy of the L1 table. */
    public long[] l1Table() {
        return l1Table.clone();
    }

    /** Raw L2 entry of a guest cluster (0 when its L2 table is not allocated). */
    public synchronized long l2Entry(long guestCluster) throws IOException {
        checkGuestCluster(guestCluster);
        long l1Index = guestCluster >>> l2Bits;
        long l2Offset = l1Table[(int) l1Index] & L1E_OFFSET_MASK;
        if (l2Offset == 0) {
            return 0;
        }
        return l2Table(l2Offset)[(int) (guestCluster & ((1L << l2Bits) - 1))];
    }

    public Qcow2ClusterType typeOf(long guestCluster) throws IOException {
        return Qcow2ClusterType.of(l2Entry(guestCluster), header.version());
    }

    /**
     * Host offset of a guest cluster: the cluster offset for NORMAL and ZERO_ALLOC, the (unaligned)
     * start of the compressed data for COMPRESSED, 0 when there is no host cluster.
     */
    public long hostOffset(long guestCluster) throws IOException {
        long e = l2Entry(guestCluster);
        switch (Qcow2ClusterType.of(e, header.version())) {
            case NORMAL:
            case ZERO_ALLOC:
                return e & L2E_OFFSET_MASK;
            case COMPRESSED:
                return e & ((1L << compressedOffsetBits()) - 1);
            default:
                return 0;
        }
    }

    private int compressedOffsetBits() {
        return 62 - (clusterBits - 8);
    }

    /**
     * Reads guest bytes of this layer alone: unallocated and zero clusters read as zeros. Reads
     * {@code min(dst.remaining(), virtualSize - guestOffset)} bytes.
     *
     * @return number of bytes read
     * @throws UnsupportedOperationException for compressed clusters
     */
    public synchronized int read(long guestOffset, ByteBuffer dst) throws IOException {
        if (guestOffset < 0 || guestOffset > header.size()) {
            throw new IllegalArgumentException("offset " + guestOffset + " outside the virtual size " + header.size());
        }
        int total = (int) Math.min(dst.remaining(), header.size() - guestOffset);
        int done = 0;
        while (done < total) {
            long off = guestOffset + done;
            long cluster = off >>> clusterBits;
            int inCluster = (int) (off & (clusterSize - 1));
            int n = (int) Math.min(total - done, clusterSize - inCluster);
            long e = l2Entry(cluster);
            Qcow2ClusterType type = Qcow2ClusterType.of(e, header.version());
            ByteBuffer part = dst.duplicate();
            part.limit(part.position() + n);
            if (type == Qcow2ClusterType.NORMAL) {
                long pos = (e & L2E_OFFSET_MASK) + inCluster;
                while (part.hasRemaining()) {
                    int r = channel.read(part, pos);
                    if (r < 0) {
                        break;
                    }
                    pos += r;
                }
                while (part.hasRemaining()) { // beyond EOF reads zeros, as in qemu
                    part.put((byte) 0);
                }
            } else if (type == Qcow2ClusterType.COMPRESSED) {
                throw new UnsupportedOperationException("compressed cluster " + cluster + " cannot be read");
            } else {
                while (part.hasRemaining()) {
                    part.put((byte) 0);
                }
            }
            dst.position(dst.position() + n);
            done += n;
        }
        return total;
    }

    private long[] l2Table(long l2Offset) throws IOException {
        long[] t = l2Cache.get(l2Offset);
        if (t == null) {
            if ((l2Offset & (clusterSize - 1)) != 0) {
                throw new Qcow2FormatException("L2 table offset " + l2Offset + " not cluster aligned");
            }
            t = readLongs(l2Offset, 1 << l2Bits);
            l2Cache.put(l2Offset, t);
        }
        return t;
    }

    private void checkGuestCluster(long guestCluster) {
        if (guestCluster < 0 || guestCluster >= guestClusters()) {
            throw new IllegalArgumentException("guest cluster " + guestCluster + " outside [0, "
                    + guestClusters() + ")");
        }
    }

    private ByteBuffer readAt(long offset, int length) throws IOException {
        return readAt(channel, offset, length);
    }

    private static ByteBuffer readAt(FileChannel channel, long offset, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.BIG_ENDIAN);
        long pos = offset;
        while (buf.hasRemaining()) {
            int r = channel.read(buf, pos);
            if (r < 0) {
                break;
            }
            pos += r;
        }
        buf.clear(); // unread tail stays zero
        return buf;
    }

    private long[] readLongs(long offset, int count) throws IOException {
        long[] out = new long[count];
        if (count > 0) {
            readAt(offset, Math.multiplyExact(count, 8)).asLongBuffer().get(out);
        }
        return out;
    }

    /** Refcount of host cluster {@code hostCluster} as stored (0 when not covered). */
    public synchronized long refcount(long hostCluster) throws IOException {
        long entries = Qcow2Layout.refcountBlockEntries(clusterBits, header.refcountOrder());
        long tableIndex = hostCluster / entries;
        long tableEntries = ((long) header.refcountTableClusters() << clusterBits) / REFTABLE_ENTRY_SIZE;
        if (tableIndex >= tableEntries) {
            return 0;
        }
        long reft = readAt(header.refcountTableOffset() + tableIndex * REFTABLE_ENTRY_SIZE, 8).getLong(0);
        long block = reft & REFT_OFFSET_MASK;
        if (block == 0) {
            return 0;
        }
        ByteBuffer b = readAt(block, (int) clusterSize);
        return refcountEntry(b, hostCluster % entries, header.refcountOrder());
    }

    /** Decodes entry {@code i} of a refcount block (bit 0 is the least significant bit for sub-byte widths). */
    static long refcountEntry(ByteBuffer block, long i, int refcountOrder) {
        int bits = 1 << refcountOrder;
        switch (bits) {
            case 64:
                return block.getLong((int) (i * 8));
            case 32:
                return Integer.toUnsignedLong(block.getInt((int) (i * 4)));
            case 16:
                return Short.toUnsignedLong(block.getShort((int) (i * 2)));
            case 8:
                return Byte.toUnsignedLong(block.get((int) i));
            default:
                long bit = i * bits;
                int v = Byte.toUnsignedInt(block.get((int) (bit >>> 3)));
                return (v >>> (bit & 7)) & ((1 << bits) - 1);
        }
    }

    /**
     * Result of {@link #check()}.
     *
     * @param errors             human-readable problems, empty when the image is consistent
     * @param leaks              clusters with a refcount but no reference
     * @param corruptions        clusters whose refcount is lower than their references, bad offsets, bad flags
     * @param referencedClusters host clusters referenced by the header, tables and data
     * @param fileClusters       clusters in the file (file size rounded up)
     */
    public record CheckResult(List<String> errors, long leaks, long corruptions, long referencedClusters,
                              long fileClusters) {
        public boolean isClean() {
            return errors.isEmpty();
        }
    }

    /**
     * Strict consistency check for a layer without snapshots: every cluster referenced by the header,
     * the L1 table, L2 tables, data, the refcount table or refcount blocks is inside the file and
     * referenced exactly once with refcount 1; every other cluster has refcount 0; QCOW_OFLAG_COPIED is
     * set exactly on entries whose target has refcount 1; no reserved bits are set.
     */
    public synchronized CheckResult check() throws IOException {
        List<String> errors = new ArrayList<>();
        long[] counts = new long[]{0, 0}; // leaks, corruptions
        if (header.nbSnapshots() != 0) {
            throw new UnsupportedOperationException("check() does not support internal snapshots");
        }
        long fileSize = channel.size();
        long nbClusters = Qcow2Layout.sizeToClusters(fileSize, clusterBits);
        if (nbClusters > (1L << 28)) {
            throw new UnsupportedOperationException("check() supports files of up to 2^28 clusters");
        }
        int[] expected = new int[(int) nbClusters];
        Refs refs = new Refs(expected, errors, counts);

        // header, extensions and backing file name: one reference per cluster they touch
        long headerEnd = clusterSize;
        if (header.backingFileOffset() != 0) {
            headerEnd = Math.max(headerEnd, header.backingFileOffset() + header.backingFileSize());
        }
        refs.add(0, headerEnd, "header");
        long l1Bytes = (long) l1Table.length * L1E_SIZE;
        if (l1Bytes > 0) {
            refs.add(header.l1TableOffset(), l1Bytes, "L1 table");
        }
        long reftBytes = (long) header.refcountTableClusters() << clusterBits;
        if ((header.refcountTableOffset() & (clusterSize - 1)) != 0 || reftBytes == 0) {
            refs.corrupt("refcount table offset " + header.refcountTableOffset() + " / clusters "
                    + header.refcountTableClusters() + " invalid");
            return new CheckResult(List.copyOf(errors), counts[0], counts[1], 0, nbClusters);
        }
        refs.add(header.refcountTableOffset(), reftBytes, "refcount table");
        long[] reft = readLongs(header.refcountTableOffset(), (int) (reftBytes / REFTABLE_ENTRY_SIZE));
        for (int i = 0; i < reft.length; i++) {
            if ((reft[i] & REFT_RESERVED_MASK) != 0) {
                refs.corrupt(String.format("refcount table entry %d has reserved bits set: 0x%x", i, reft[i]));
            }
            long off = reft[i] & REFT_OFFSET_MASK;
            if (off != 0) {
                refs.add(off, clusterSize, "refcount block " + i);
            }
        }

        // L1 / L2 references
        List<long[]> copiedChecks = new ArrayList<>(); // {offset, entry, kind(1=L1,2=L2)}
        for (int i = 0; i < l1Table.length; i++) {
            long l1e = l1Table[i];
            if ((l1e & L1E_RESERVED_MASK) != 0) {
                refs.corrupt(String.format("L1 entry %d has reserved bits set: 0x%x", i, l1e));
            }
            long l2Offset = l1e & L1E_OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            if ((l2Offset & (clusterSize - 1)) != 0) {
                refs.corrupt("L2 table offset " + l2Offset + " not cluster aligned");
                continue;
            }
            refs.add(l2Offset, clusterSize, "L2 table of L1 entry " + i);
            copiedChecks.add(new long[]{l2Offset, l1e, 1});
            if (l2Offset >= fileSize) {
                continue;
            }
            long[] l2 = readLongs(l2Offset, 1 << l2Bits);
            for (int j = 0; j < l2.length; j++) {
                long e = l2[j];
                long guestCluster = ((long) i << l2Bits) + j;
                Qcow2ClusterType type = Qcow2ClusterType.of(e, header.version());
                if (type == Qcow2ClusterType.COMPRESSED) {
                    int x = compressedOffsetBits();
                    long coff = e & ((1L << x) - 1);
                    long nbSectors = ((e & L2E_COMPRESSED_OFFSET_SIZE_MASK) >>> x) + 1;
                    long end = (coff & ~(QCOW2_COMPRESSED_SECTOR_SIZE - 1L)) + nbSectors * QCOW2_COMPRESSED_SECTOR_SIZE;
                    refs.add(coff, end - coff, "compressed guest cluster " + guestCluster);
                    if ((e & QCOW_OFLAG_COPIED) != 0) {
                        refs.corrupt("compressed guest cluster " + guestCluster + " has QCOW_OFLAG_COPIED");
                    }
                    continue;
                }
                if ((e & L2E_STD_RESERVED_MASK) != 0) {
                    refs.corrupt(String.format("L2 entry of guest cluster %d has reserved bits set: 0x%x",
                            guestCluster, e));
                }
                long off = e & L2E_OFFSET_MASK;
                if (off != 0) {
                    if ((off & (clusterSize - 1)) != 0) {
                        refs.corrupt("guest cluster " + guestCluster + " host offset " + off + " not aligned");
                        continue;
                    }
                    refs.add(off, clusterSize, "guest cluster " + guestCluster);
                    copiedChecks.add(new long[]{off, e, 2});
                } else if ((e & QCOW_OFLAG_COPIED) != 0) {
                    refs.corrupt("guest cluster " + guestCluster + " without host cluster has QCOW_OFLAG_COPIED");
                }
            }
        }

        // stored refcounts vs references
        long entries = Qcow2Layout.refcountBlockEntries(clusterBits, header.refcountOrder());
        long referenced = 0;
        long[] storedRefcounts = new long[(int) nbClusters];
        for (int i = 0; i < reft.length; i++) {
            long off = reft[i] & REFT_OFFSET_MASK;
            long first = i * entries;
            if (off == 0 || off + clusterSize > fileSize) {
                for (long c = first; c < Math.min(first + entries, nbClusters); c++) {
                    if (expected[(int) c] != 0) {
                        refs.corrupt("cluster " + c + " is referenced but has no refcount block");
                    }
                }
                continue;
            }
            ByteBuffer block = readAt(off, (int) clusterSize);
            for (long k = 0; k < entries; k++) {
                long c = first + k;
                long stored = refcountEntry(block, k, header.refcountOrder());
                long exp = c < nbClusters ? expected[(int) c] : 0;
                if (c < nbClusters) {
                    storedRefcounts[(int) c] = stored;
                }
                if (stored != exp) {
                    if (exp == 0) {
                        counts[0]++;
                        errors.add("leaked cluster " + c + ": refcount " + stored + " but not referenced"
                                + (c >= nbClusters ? " (beyond end of file)" : ""));
                    } else {
                        refs.corrupt("cluster " + c + ": refcount " + stored + ", referenced " + exp + " times");
                    }
                }
            }
        }
        for (long c = reft.length * entries; c < nbClusters; c++) {
            if (expected[(int) c] != 0) {
                refs.corrupt("cluster " + c + " is referenced but beyond the refcount table");
            }
        }
        for (int c = 0; c < nbClusters; c++) {
            if (expected[c] > 0) {
                referenced++;
            }
            if (expected[c] > 1) {
                refs.corrupt("cluster " + c + " is referenced " + expected[c] + " times (must be 1 in a layer)");
            }
        }
        for (long[] cc : copiedChecks) {
            long c = cc[0] >>> clusterBits;
            boolean copied = (cc[1] & QCOW_OFLAG_COPIED) != 0;
            boolean one = c < nbClusters && storedRefcounts[(int) c] == 1;
            if (copied != one) {
                refs.corrupt((cc[2] == 1 ? "L1" : "L2") + " entry for host offset " + cc[0]
                        + (copied ? " has" : " lacks") + " QCOW_OFLAG_COPIED but its refcount is "
                        + (one ? "" : "not ") + "1");
            }
        }
        return new CheckResult(List.copyOf(errors), counts[0], counts[1], referenced, nbClusters);
    }

    /** Accumulates references per host cluster. */
    private final class Refs {
        private final int[] expected;
        private final List<String> errors;
        private final long[] counts;

        Refs(int[] expected, List<String> errors, long[] counts) {
            this.expected = expected;
            this.errors = errors;
            this.counts = counts;
        }

        void add(long offset, long length, String what) {
            if (offset < 0 || length <= 0) {
                corrupt(what + ": invalid range " + offset + "+" + length);
                return;
            }
            long first = offset >>> clusterBits;
            long last = (offset + length - 1) >>> clusterBits;
            for (long c = first; c <= last; c++) {
                if (c >= expected.length) {
                    corrupt(what + ": cluster " + c + " is beyond the end of the file");
                    return;
                }
                expected[(int) c]++;
            }
        }

        void corrupt(String msg) {
            counts[1]++;
            errors.add(msg);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
