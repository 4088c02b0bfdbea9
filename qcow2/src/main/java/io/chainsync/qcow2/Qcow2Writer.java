package io.chainsync.qcow2;

import static io.chainsync.qcow2.Qcow2Constants.*;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * Writes one qcow2 version 3 layer: data clusters, zero clusters (L2 zero flag, no host cluster) and
 * unallocated clusters (fall through to the backing file), with a backing file name and format.
 *
 * <h2>File layout</h2>
 * <pre>
 *   cluster 0                 header, backing-format extension, backing file name (written last)
 *   clusters 1 .. 1+D-1       data clusters: data index k lives at dataClusterOffset(k) = (1 + k) * cluster_size
 *   then, after the last data cluster (the reserved ones, see {@link #reserveDataClusters}):
 *                             L1 table (l1_size = size_to_l1(size) entries, whole clusters)
 *                             L2 tables (only those with a non-zero entry), in L1 index order,
 *                             each written as soon as the mapping has moved past it
 *                             refcount blocks covering every cluster of the file  } written by
 *                             refcount table                                      } finish()
 * </pre>
 * The position of every data cluster is fixed by its data index alone, so any thread, process or
 * machine can write data clusters without coordination ({@link #dataClusterOffset(int, long)}); one
 * finalizer maps guest clusters to data indices and calls {@link #finish()} (see
 * {@link #reopenForFinish}). Until {@code finish()} completes, cluster 0 is all zeros, so an
 * incomplete file is never mistaken for a valid image.
 *
 * <h2>Bounded memory</h2>
 * Guest clusters are mapped in guest order ({@link #mapData}, {@link #mapZero}), so the writer
 * holds one L2 table and one cluster of the L1 table, plus the used data clusters as ranges: its
 * memory does not grow with the image (an 8 TiB image needs what a 1 GiB one does).
 *
 * <h2>Threads</h2>
 * {@link #writeData} may be called concurrently from any number of threads, also while guest
 * clusters are being mapped once the data clusters are reserved. The mapping calls are
 * synchronized. {@link #finish()} must be called once all writes have returned.
 *
 * <h2>Lifecycle</h2>
 * {@link STATE}: {@code OPEN -> DATA -> FINISHING -> FINISHED}, or {@code -> ABORTED} from OPEN/DATA
 * (via {@link #abort()} or {@link #close()} without finish, or a failed finish). Calls not permitted
 * in the current state throw {@link IllegalStateException}.
 */
public final class Qcow2Writer implements Closeable {

    /** Writer lifecycle; each transition method returns the next state or throws. */
    public enum STATE {
        /** Created, nothing written or mapped yet. */
        OPEN {
            @Override
            STATE data() {
                return DATA;
            }

            @Override
            STATE finish() {
                return FINISHING;
            }
        },
        /** Data being written and mapped. */
        DATA {
            @Override
            STATE data() {
                return DATA;
            }

            @Override
            STATE finish() {
                return FINISHING;
            }
        },
        /** {@link #finish()} is writing metadata. */
        FINISHING {
            @Override
            STATE finished() {
                return FINISHED;
            }
        },
        /** Metadata and header written and flushed; the channel is closed. */
        FINISHED {
            @Override
            STATE abort() {
                throw new IllegalStateException("cannot abort: the image is already finished");
            }
        },
        /** Abandoned; the channel is closed, the incomplete file is left to the caller. */
        ABORTED;

        STATE data() {
            throw new IllegalStateException("cannot write or map data: the writer is " + this);
        }

        STATE finish() {
            throw new IllegalStateException("cannot finish: the writer is " + this);
        }

        STATE finished() {
            throw new IllegalStateException("not finishing: the writer is " + this);
        }

        STATE abort() {
            return ABORTED;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long virtualSize;
    private final int clusterBits;
    private final long clusterSize;
    private final long guestClusters;
    private final int l1Size;
    private final int l2Bits;
    private final String backingFile;
    private final String backingFormat;
    private final AtomicReference<STATE> state = new AtomicReference<>(STATE.OPEN);

    private final long l1Clusters;

    /** Data clusters declared by {@link #reserveDataClusters}, or -1. */
    private long reservedData = -1;
    /** First host cluster of the metadata (L1 table, then L2 tables, then refcounts), or -1 before mapping. */
    private volatile long metaStart = -1;
    /** Guest clusters before this one are mapped. */
    private long mapFront;
    /** One past the highest data index mapped. */
    private long dataEnd;
    /** Data indices referenced by an L2 entry (each at most once, so refcount 1). */
    private final Ranges usedData = new Ranges();
    /** The L2 table being filled and its L1 index. */
    private final ByteBuffer l2;
    private long currentL1 = -1;
    private boolean l2Dirty;
    /** L2 tables written so far. */
    private long l2Count;
    /** The cluster of the L1 table being filled. */
    private final ByteBuffer l1;
    private long l1Cluster;
    private boolean l1Dirty;

    private Qcow2Writer(Path path, FileChannel channel, long virtualSize, int clusterBits,
                        String backingFile, String backingFormat) {
        this.path = path;
        this.channel = channel;
        this.virtualSize = virtualSize;
        this.clusterBits = clusterBits;
        this.clusterSize = 1L << clusterBits;
        this.guestClusters = Qcow2Layout.sizeToClusters(virtualSize, clusterBits);
        this.l1Size = Math.toIntExact(Qcow2Layout.sizeToL1(virtualSize, clusterBits));
        this.l2Bits = Qcow2Layout.l2Bits(clusterBits);
        this.backingFile = backingFile;
        this.backingFormat = backingFormat;
        this.l1Clusters = Qcow2Layout.sizeToClusters((long) l1Size * L1E_SIZE, clusterBits);
        this.l2 = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        this.l1 = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
    }

    /**
     * Creates (or truncates) {@code path} and starts a layer. The first cluster is zeroed until
     * {@link #finish()} writes the header. A symbolic link at {@code path} is refused, never followed.
     *
     * @param virtualSize   guest size in bytes: positive multiple of 512 (what qemu accepts); need not
     *                      be a multiple of the cluster size
     * @param clusterBits   9 (512 B) .. 21 (2 MiB)
     * @param backingFile   backing file name as stored in the header (usually relative to the layer's
     *                      directory), or null
     * @param backingFormat backing format ("qcow2", "raw", ...), or null; requires a backing file
     * @throws IllegalArgumentException on invalid parameters, e.g. a backing name that does not fit
     *                                  in the first cluster
     */
    public static Qcow2Writer create(Path path, long virtualSize, int clusterBits, String backingFile,
                                     String backingFormat) throws IOException {
        validate(path, virtualSize, clusterBits, backingFile, backingFormat);
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        return create(ch, path, virtualSize, clusterBits, backingFile, backingFormat);
    }

    /**
     * Starts a layer in a file the caller has opened for reading and writing (e.g. created
     * exclusively, relative to a directory it holds), as {@link #create(Path, long, int, String, String)}:
     * the file is truncated and its first cluster zeroed. The writer owns the channel from now on,
     * and closes it also when this method fails.
     *
     * @param path the file's name, for messages and {@link #path()}
     */
    public static Qcow2Writer create(FileChannel channel, Path path, long virtualSize, int clusterBits,
                                     String backingFile, String backingFormat) throws IOException {
        try {
            validate(path, virtualSize, clusterBits, backingFile, backingFormat);
            channel.truncate(0);
            writeFully(channel, ByteBuffer.allocate(1 << clusterBits), 0);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new Qcow2Writer(path, channel, virtualSize, clusterBits, backingFile, backingFormat);
    }

    /**
     * Opens an existing file whose data clusters were (or will be) written at
     * {@link #dataClusterOffset(int, long)} by other writers or processes, without truncating it.
     * The caller maps guest clusters and calls {@link #finish()}; metadata is appended after the
     * current end of the file (and after the last mapped data cluster), so no written data cluster
     * is overwritten. The header cluster is rewritten by {@code finish()}. A symbolic link at
     * {@code path} is refused, never followed.
     */
    public static Qcow2Writer reopenForFinish(Path path, long virtualSize, int clusterBits, String backingFile,
                                              String backingFormat) throws IOException {
        validate(path, virtualSize, clusterBits, backingFile, backingFormat);
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(path.toString(), null, "no such regular file to finish");
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        return new Qcow2Writer(path, ch, virtualSize, clusterBits, backingFile, backingFormat);
    }

    /**
     * As {@link #reopenForFinish(Path, long, int, String, String)}, on a regular file the caller has
     * opened for reading and writing. The writer owns the channel from now on, and closes it also
     * when this method fails.
     *
     * @param path the file's name, for messages and {@link #path()}
     */
    public static Qcow2Writer reopenForFinish(FileChannel channel, Path path, long virtualSize, int clusterBits,
                                              String backingFile, String backingFormat) throws IOException {
        try {
            validate(path, virtualSize, clusterBits, backingFile, backingFormat);
        } catch (RuntimeException e) {
            channel.close();
            throw e;
        }
        return new Qcow2Writer(path, channel, virtualSize, clusterBits, backingFile, backingFormat);
    }

    private static void validate(Path path, long virtualSize, int clusterBits, String backingFile,
                                 String backingFormat) {
        Objects.requireNonNull(path, "path");
        Qcow2Layout.checkClusterBits(clusterBits);
        Qcow2Layout.checkVirtualSize(virtualSize, clusterBits);
        Qcow2Header.checkBacking(backingFile, backingFormat, clusterBits);
    }

    /**
     * Host offset of data cluster {@code k} in a file written by this class:
     * {@code (HEADER_CLUSTERS + k) << clusterBits}. Needs no writer, so remote workers can use it.
     */
    public static long dataClusterOffset(int clusterBits, long k) {
        Qcow2Layout.checkClusterBits(clusterBits);
        if (k < 0) {
            throw new IllegalArgumentException("data index must be >= 0, got " + k);
        }
        long cluster = Qcow2Layout.HEADER_CLUSTERS + k;
        if (cluster >= (QCOW_MAX_HOST_OFFSET >>> clusterBits)) {
            throw new IllegalArgumentException("data index " + k + " is beyond qcow2's 64 PiB host offset limit");
        }
        return cluster << clusterBits;
    }

    /** {@link #dataClusterOffset(int, long)} for this writer's cluster size. */
    public long dataClusterOffset(long k) {
        return dataClusterOffset(clusterBits, k);
    }

    /**
     * Writes {@code src} (all remaining bytes) at {@code hostOffset}. Thread-safe; any offset at or
     * after the first data cluster is allowed (a data cluster may be written in pieces, a partial last
     * cluster need not be padded).
     */
    public void writeData(long hostOffset, ByteBuffer src) throws IOException {
        enterData();
        long dataStart = (long) Qcow2Layout.HEADER_CLUSTERS << clusterBits;
        if (hostOffset < dataStart) {
            throw new IllegalArgumentException("host offset " + hostOffset + " is inside the header cluster");
        }
        if (hostOffset + src.remaining() > QCOW_MAX_HOST_OFFSET) {
            throw new IllegalArgumentException("write beyond qcow2's 64 PiB host offset limit");
        }
        long meta = metaStart;
        if (meta >= 0 && hostOffset + src.remaining() > meta << clusterBits) {
            throw new IllegalArgumentException("data write at host offset " + hostOffset + " reaches the metadata at "
                    + (meta << clusterBits) + " (beyond the reserved data clusters)");
        }
        writeFully(channel, src, hostOffset);
    }

    /**
     * Declares that the layer has {@code count} data clusters (data indices {@code 0 .. count-1}):
     * the metadata is placed after them, so data may still be written while guest clusters are
     * mapped. Without it, the metadata starts after the end of the file as it is when the first
     * guest cluster is mapped (all data must be written by then). Call at most once, before mapping.
     *
     * @throws IllegalStateException when mapping has already started
     */
    public synchronized void reserveDataClusters(long count) {
        enterData();
        if (count < 0) {
            throw new IllegalArgumentException("data cluster count must be >= 0, got " + count);
        }
        if (metaStart >= 0) {
            throw new IllegalStateException("data clusters must be reserved before the first guest cluster is mapped");
        }
        if (count > 0) {
            dataClusterOffset(clusterBits, count - 1); // host offset limit
        }
        reservedData = count;
        startMetadata();
    }

    /**
     * Maps guest clusters {@code [guestCluster, guestCluster + count)} to data clusters
     * {@code firstDataIndex, firstDataIndex + 1, ...} (NORMAL clusters).
     *
     * <p>Guest clusters are mapped in guest order: each call starts at or after the end of the
     * previous one, and data indices grow with guest clusters (each data cluster has refcount 1).
     * An L2 table is written out as soon as mapping moves past it, so memory stays at one L2 table
     * and one L1 cluster whatever the image's size.
     *
     * @throws IllegalArgumentException if a range is out of bounds, before the mapping front, or
     *                                  its data indices are not above every data index mapped so far
     *                                  (or beyond {@link #reserveDataClusters}); nothing is changed then
     */
    public synchronized void mapData(long guestCluster, long count, long firstDataIndex) throws IOException {
        enterData();
        checkGuestRange(guestCluster, count);
        checkOrder(guestCluster);
        if (firstDataIndex < 0) {
            throw new IllegalArgumentException("data index must be >= 0, got " + firstDataIndex);
        }
        if (count == 0) {
            return;
        }
        if (firstDataIndex < dataEnd) {
            throw new IllegalArgumentException("data index " + firstDataIndex + " is already mapped, or not in guest"
                    + " order (data indices up to " + (dataEnd - 1) + " are mapped)");
        }
        if (reservedData >= 0 && firstDataIndex + count > reservedData) {
            throw new IllegalArgumentException("data indices [" + firstDataIndex + ", +" + count
                    + ") beyond the " + reservedData + " reserved data clusters");
        }
        dataClusterOffset(clusterBits, firstDataIndex + count - 1); // host offset limit
        startMetadata();
        if (Qcow2Layout.HEADER_CLUSTERS + firstDataIndex + count > metaStart) {
            throw new IllegalArgumentException("data indices [" + firstDataIndex + ", +" + count + ") reach the"
                    + " metadata at host cluster " + metaStart + "; reserve the data clusters first");
        }
        usedData.add(firstDataIndex, firstDataIndex + count);
        dataEnd = firstDataIndex + count;
        long host = dataClusterOffset(clusterBits, firstDataIndex) | QCOW_OFLAG_COPIED;
        for (long i = 0; i < count; i++) {
            setEntry(guestCluster + i, host + (i << clusterBits));
        }
        mapFront = guestCluster + count;
    }

    /**
     * Makes guest clusters {@code [guestCluster, guestCluster + count)} zero clusters without host
     * storage (L2 entry {@code QCOW_OFLAG_ZERO}): they read as zeros and hide the backing file.
     * In guest order, as {@link #mapData}.
     */
    public synchronized void mapZero(long guestCluster, long count) throws IOException {
        enterData();
        checkGuestRange(guestCluster, count);
        checkOrder(guestCluster);
        if (count == 0) {
            return;
        }
        startMetadata();
        for (long i = 0; i < count; i++) {
            setEntry(guestCluster + i, QCOW_OFLAG_ZERO);
        }
        mapFront = guestCluster + count;
    }

    private void checkOrder(long guestCluster) {
        if (guestCluster < mapFront) {
            throw new IllegalArgumentException("guest cluster " + guestCluster + " is mapped out of guest order"
                    + " (clusters before " + mapFront + " are already mapped)");
        }
    }

    /** Fixes where the metadata starts: after the reserved data clusters and the file's current end. */
    private void startMetadata() {
        if (metaStart >= 0) {
            return;
        }
        long fileClusters;
        try {
            fileClusters = Qcow2Layout.sizeToClusters(channel.size(), clusterBits);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        long reserved = Qcow2Layout.HEADER_CLUSTERS + Math.max(0, reservedData);
        metaStart = Math.max(Math.max(reserved, fileClusters), Qcow2Layout.HEADER_CLUSTERS);
    }

    /** Sets one entry of the current L2 table, writing the previous table out when the entry is in another. */
    private void setEntry(long guestCluster, long entry) throws IOException {
        long l1Index = guestCluster >>> l2Bits;
        if (l1Index != currentL1) {
            writeL2();
            currentL1 = l1Index;
        }
        l2.putLong((int) (guestCluster & ((1L << l2Bits) - 1)) * L2E_SIZE_NORMAL, entry);
        l2Dirty = true;
    }

    /** Writes the current L2 table, if it holds an entry, after the L1 table and the tables before it. */
    private void writeL2() throws IOException {
        if (!l2Dirty) {
            return;
        }
        long off = (metaStart + l1Clusters + l2Count) << clusterBits;
        writeFully(channel, l2.clear(), off);
        l2Count++;
        setL1(currentL1, off | QCOW_OFLAG_COPIED);
        Arrays.fill(l2.array(), (byte) 0);
        l2Dirty = false;
    }

    /** Sets an L1 entry; L1 entries arrive in order, so only one cluster of the L1 table is held. */
    private void setL1(long l1Index, long entry) throws IOException {
        long cluster = (l1Index * L1E_SIZE) >>> clusterBits;
        if (cluster != l1Cluster) {
            writeL1Cluster();
            l1Cluster = cluster;
        }
        l1.putLong((int) ((l1Index * L1E_SIZE) & (clusterSize - 1)), entry);
        l1Dirty = true;
    }

    private void writeL1Cluster() throws IOException {
        if (l1Dirty) {
            writeFully(channel, l1.clear(), (metaStart + l1Cluster) << clusterBits);
            Arrays.fill(l1.array(), (byte) 0);
            l1Dirty = false;
        }
    }

    private void checkGuestRange(long guestCluster, long count) {
        if (guestCluster < 0 || count < 0 || guestCluster > guestClusters - count) {
            throw new IllegalArgumentException("guest clusters [" + guestCluster + ", +" + count
                    + ") outside the image's " + guestClusters + " clusters");
        }
    }

    /**
     * Writes L2 tables, L1 table, refcount blocks and refcount table after the data, flushes, then
     * writes the header and flushes again, and closes the file. On failure the writer is ABORTED.
     */
    public void finish() throws IOException {
        transition(STATE::finish);
        boolean ok = false;
        try {
            synchronized (this) {
                writeMetadata();
            }
            ok = true;
        } finally {
            if (ok) {
                channel.close();
                transition(STATE::finished);
            } else {
                state.set(STATE.ABORTED);
                try {
                    channel.close();
                } catch (IOException suppressed) {
                    // the original failure matters more
                }
            }
        }
    }

    private void writeMetadata() throws IOException {
        startMetadata();
        writeL2();
        writeL1Cluster();
        long otherClusters = metaStart + l1Clusters + l2Count;
        Qcow2Layout.RefcountSizing rs = Qcow2Layout.refcountSizing(otherClusters, clusterBits);
        long refBlockCluster = otherClusters;
        long refTableCluster = refBlockCluster + rs.refcountBlocks();
        if (rs.refcountTableClusters() << clusterBits > QCOW_MAX_REFTABLE_SIZE) {
            throw new IOException("refcount table of " + (rs.refcountTableClusters() << clusterBits)
                    + " bytes exceeds qemu's limit of " + QCOW_MAX_REFTABLE_SIZE + "; use larger clusters");
        }
        if (rs.totalClusters() > (QCOW_MAX_HOST_OFFSET >>> clusterBits)) {
            throw new IOException("image would exceed qcow2's 64 PiB host offset limit");
        }
        if (l1Clusters > 0 && l2Count == 0) {
            // no L2 table: the L1 table is all zeros; write its last cluster so that the file holds it
            writeFully(channel, ByteBuffer.allocate((int) clusterSize), (metaStart + l1Clusters - 1) << clusterBits);
        }

        // refcount blocks, one cluster at a time: 1 for the header, each used data cluster and every
        // metadata cluster; the refcount table is written as its clusters fill
        Ranges used = new Ranges();
        used.add(0, Qcow2Layout.HEADER_CLUSTERS);
        usedData.forEach((from, to) -> used.add(from + Qcow2Layout.HEADER_CLUSTERS, to + Qcow2Layout.HEADER_CLUSTERS));
        used.add(metaStart, rs.totalClusters());
        long entries = Qcow2Layout.refcountBlockEntries(clusterBits, DEFAULT_REFCOUNT_ORDER);
        ByteBuffer block = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        ByteBuffer table = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        long tableEntriesPerCluster = clusterSize / REFTABLE_ENTRY_SIZE;
        Ranges.Cursor cursor = used.cursor();
        for (long b = 0; b < rs.refcountBlocks(); b++) {
            Arrays.fill(block.array(), (byte) 0);
            long first = b * entries;
            cursor.forEachIn(first, first + entries, (from, to) -> {
                for (long c = from; c < to; c++) {
                    block.putShort((int) ((c - first) * 2), (short) 1);
                }
            });
            long off = (refBlockCluster + b) << clusterBits;
            writeFully(channel, block.clear(), off);
            table.putLong((int) ((b % tableEntriesPerCluster) * REFTABLE_ENTRY_SIZE), off);
            if ((b + 1) % tableEntriesPerCluster == 0) {
                writeFully(channel, table.clear(), (refTableCluster + b / tableEntriesPerCluster) << clusterBits);
                Arrays.fill(table.array(), (byte) 0);
            }
        }
        long tableClustersWritten = rs.refcountBlocks() / tableEntriesPerCluster;
        for (long t = tableClustersWritten; t < rs.refcountTableClusters(); t++) {
            writeFully(channel, table.clear(), (refTableCluster + t) << clusterBits);
            Arrays.fill(table.array(), (byte) 0);
        }
        channel.force(true);

        // header last
        ByteBuffer header = Qcow2Header.encodeFirstCluster(clusterBits, virtualSize, l1Size,
                metaStart << clusterBits, refTableCluster << clusterBits,
                Math.toIntExact(rs.refcountTableClusters()), backingFile, backingFormat);
        writeFully(channel, header, 0);
        channel.force(true);
    }

    /**
     * Abandons the layer: closes the channel and leaves the incomplete file (header cluster zeroed)
     * to the caller. No-op when already aborted.
     *
     * @throws IllegalStateException when already finished
     */
    public void abort() throws IOException {
        transition(STATE::abort);
        channel.close();
    }

    /** Finished: no-op. Otherwise the same as {@link #abort()}. */
    @Override
    public void close() throws IOException {
        STATE s = state.get();
        if (s == STATE.FINISHED || s == STATE.ABORTED) {
            return;
        }
        if (s == STATE.FINISHING) {
            throw new IllegalStateException("close() while finish() is running");
        }
        abort();
    }

    private void enterData() {
        if (state.get() != STATE.DATA) {
            transition(STATE::data);
        }
    }

    private STATE transition(UnaryOperator<STATE> f) {
        while (true) {
            STATE s = state.get();
            STATE n = f.apply(s);
            if (s == n || state.compareAndSet(s, n)) {
                return n;
            }
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer src, long position) throws IOException {
        long pos = position;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
    }

    /** The file channel, for workers writing data clusters directly (positional writes only). */
    public FileChannel channel() {
        return channel;
    }

    public STATE state() {
        return state.get();
    }

    public Path path() {
        return path;
    }

    public long virtualSize() {
        return virtualSize;
    }

    public int clusterBits() {
        return clusterBits;
    }

    public long clusterSize() {
        return clusterSize;
    }

    /** Guest clusters of the image (the last one may be partial). */
    public long guestClusters() {
        return guestClusters;
    }

    public int l1Size() {
        return l1Size;
    }

    public String backingFile() {
        return backingFile;
    }

    public String backingFormat() {
        return backingFormat;
    }

    /** Number of L2 tables holding a non-zero entry so far (written, or being filled). */
    public synchronized long l2TableCount() {
        return l2Count + (l2Dirty ? 1 : 0);
    }

    /** One more than the highest mapped data index (0 when none is mapped). */
    public synchronized long dataClusterCount() {
        return dataEnd;
    }
}
