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
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
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
 *   then, written by finish() after the last data cluster:
 *                             L2 tables (only those with a non-zero entry), in L1 index order
 *                             L1 table (l1_size = size_to_l1(size) entries, whole clusters)
 *                             refcount blocks covering every cluster of the file
 *                             refcount table
 * </pre>
 * The position of every data cluster is fixed by its data index alone, so any thread, process or
 * machine can write data clusters without coordination ({@link #dataClusterOffset(int, long)}); one
 * finalizer maps guest clusters to data indices and calls {@link #finish()} (see
 * {@link #reopenForFinish}). Until {@code finish()} completes, cluster 0 is all zeros, so an
 * incomplete file is never mistaken for a valid image.
 *
 * <h2>Threads</h2>
 * {@link #writeData} may be called concurrently from any number of threads. The mapping calls
 * ({@link #mapData}, {@link #mapZero}) are synchronized. {@link #finish()} must be called once all
 * writes have returned.
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

    /** Sparse L2 tables by L1 index; entries hold the final values (with QCOW_OFLAG_COPIED). */
    private final Map<Integer, long[]> l2Tables = new HashMap<>();
    /** Data indices referenced by an L2 entry (each at most once, so refcount 1). */
    private final BitSet usedData = new BitSet();

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
        writeFully(channel, src, hostOffset);
    }

    /**
     * Maps guest clusters {@code [guestCluster, guestCluster + count)} to data clusters
     * {@code firstDataIndex, firstDataIndex + 1, ...} (NORMAL clusters). Mapping a guest cluster again
     * replaces its previous mapping; mapping the same again is a no-op (idempotent redelivery).
     *
     * @throws IllegalArgumentException if a range is out of bounds or a data index is already used by
     *                                  another guest cluster (each data cluster has refcount 1);
     *                                  nothing is changed then
     */
    public synchronized void mapData(long guestCluster, long count, long firstDataIndex) {
        enterData();
        checkGuestRange(guestCluster, count);
        if (firstDataIndex < 0 || firstDataIndex > Integer.MAX_VALUE - 1 - count) {
            throw new IllegalArgumentException("data indices [" + firstDataIndex + ", +" + count
                    + ") out of the supported range [0, " + (Integer.MAX_VALUE - 1) + ")");
        }
        if (count == 0) {
            return;
        }
        dataClusterOffset(clusterBits, firstDataIndex + count - 1); // host offset limit
        for (long i = 0; i < count; i++) {
            int k = (int) (firstDataIndex + i);
            if (usedData.get(k) && entry(guestCluster + i) != normalEntry(k)) {
                throw new IllegalArgumentException("data index " + k + " is already mapped by another guest cluster");
            }
        }
        for (long i = 0; i < count; i++) {
            setEntry(guestCluster + i, normalEntry((int) (firstDataIndex + i)));
        }
    }

    /**
     * Makes guest clusters {@code [guestCluster, guestCluster + count)} zero clusters without host
     * storage (L2 entry {@code QCOW_OFLAG_ZERO}): they read as zeros and hide the backing file.
     */
    public synchronized void mapZero(long guestCluster, long count) {
        enterData();
        checkGuestRange(guestCluster, count);
        for (long i = 0; i < count; i++) {
            setEntry(guestCluster + i, QCOW_OFLAG_ZERO);
        }
    }

    /** L2 entry currently mapped for a guest cluster (0 = unallocated). */
    public synchronized long entry(long guestCluster) {
        checkGuestRange(guestCluster, 1);
        long[] t = l2Tables.get((int) (guestCluster >>> l2Bits));
        return t == null ? 0 : t[(int) (guestCluster & ((1L << l2Bits) - 1))];
    }

    private long normalEntry(int dataIndex) {
        return dataClusterOffset(clusterBits, dataIndex) | QCOW_OFLAG_COPIED;
    }

    private int dataIndexOf(long entry) {
        if ((entry & QCOW_OFLAG_ZERO) != 0 || (entry & L2E_OFFSET_MASK) == 0) {
            return -1;
        }
        return (int) (((entry & L2E_OFFSET_MASK) >>> clusterBits) - Qcow2Layout.HEADER_CLUSTERS);
    }

    private void setEntry(long guestCluster, long entry) {
        int l1Index = (int) (guestCluster >>> l2Bits);
        int l2Index = (int) (guestCluster & ((1L << l2Bits) - 1));
        long[] t = l2Tables.get(l1Index);
        long old = t == null ? 0 : t[l2Index];
        if (old == entry) {
            return;
        }
        int oldIndex = dataIndexOf(old);
        if (oldIndex >= 0) {
            usedData.clear(oldIndex);
        }
        int newIndex = dataIndexOf(entry);
        if (newIndex >= 0) {
            usedData.set(newIndex);
        }
        if (t == null) {
            t = new long[1 << l2Bits];
            l2Tables.put(l1Index, t);
        }
        t[l2Index] = entry;
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
        int[] l1Indices = l2Tables.keySet().stream().mapToInt(Integer::intValue).sorted().toArray();
        long dataEnd = Qcow2Layout.HEADER_CLUSTERS + (long) usedData.length();
        long fileClusters = Qcow2Layout.sizeToClusters(channel.size(), clusterBits);
        long metaStart = Math.max(Math.max(dataEnd, fileClusters), Qcow2Layout.HEADER_CLUSTERS);
        long l1Clusters = Qcow2Layout.sizeToClusters((long) l1Size * L1E_SIZE, clusterBits);
        long l1Cluster = metaStart + l1Indices.length;
        Qcow2Layout.RefcountSizing rs = Qcow2Layout.refcountSizing(l1Cluster + l1Clusters, clusterBits);
        long refBlockCluster = l1Cluster + l1Clusters;
        long refTableCluster = refBlockCluster + rs.refcountBlocks();
        if (rs.refcountTableClusters() << clusterBits > QCOW_MAX_REFTABLE_SIZE) {
            throw new IOException("refcount table of " + (rs.refcountTableClusters() << clusterBits)
                    + " bytes exceeds qemu's limit of " + QCOW_MAX_REFTABLE_SIZE + "; use larger clusters");
        }
        if (rs.totalClusters() > (QCOW_MAX_HOST_OFFSET >>> clusterBits)) {
            throw new IOException("image would exceed qcow2's 64 PiB host offset limit");
        }

        // L2 tables and L1 table
        long[] l1 = new long[l1Size];
        ByteBuffer buf = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < l1Indices.length; i++) {
            long off = (metaStart + i) << clusterBits;
            long[] t = l2Tables.get(l1Indices[i]);
            buf.clear();
            buf.asLongBuffer().put(t);
            writeFully(channel, buf, off);
            l1[l1Indices[i]] = off | QCOW_OFLAG_COPIED;
        }
        writeLongs(l1, l1Cluster << clusterBits, l1Clusters);

        // refcount blocks: 1 for the header, each used data cluster and all metadata clusters
        long entries = Qcow2Layout.refcountBlockEntries(clusterBits, DEFAULT_REFCOUNT_ORDER);
        long total = rs.totalClusters();
        long[] refTable = new long[(int) (rs.refcountTableClusters() << clusterBits) / REFTABLE_ENTRY_SIZE];
        for (long b = 0; b < rs.refcountBlocks(); b++) {
            buf.clear();
            Arrays.fill(buf.array(), (byte) 0);
            long first = b * entries;
            for (long i = 0; i < entries; i++) {
                long c = first + i;
                if (c >= total) {
                    break;
                }
                if (isUsed(c, dataEnd, metaStart)) {
                    buf.putShort((int) (i * 2), (short) 1);
                }
            }
            long off = (refBlockCluster + b) << clusterBits;
            writeFully(channel, buf, off);
            refTable[(int) b] = off;
        }
        writeLongs(refTable, refTableCluster << clusterBits, rs.refcountTableClusters());
        channel.force(true);

        // header last
        ByteBuffer header = Qcow2Header.encodeFirstCluster(clusterBits, virtualSize, l1Size,
                l1Cluster << clusterBits, refTableCluster << clusterBits,
                Math.toIntExact(rs.refcountTableClusters()), backingFile, backingFormat);
        writeFully(channel, header, 0);
        channel.force(true);
    }

    private boolean isUsed(long cluster, long dataEnd, long metaStart) {
        if (cluster < Qcow2Layout.HEADER_CLUSTERS) {
            return true;
        }
        if (cluster < dataEnd) {
            return usedData.get((int) (cluster - Qcow2Layout.HEADER_CLUSTERS));
        }
        return cluster >= metaStart;
    }

    private void writeLongs(long[] values, long offset, long clusters) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(clusters << clusterBits)).order(ByteOrder.BIG_ENDIAN);
        buf.asLongBuffer().put(values);
        writeFully(channel, buf, offset);
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

    /** Number of L2 tables holding a non-zero entry (the ones finish() writes). */
    public synchronized int l2TableCount() {
        return l2Tables.size();
    }

    /** One more than the highest mapped data index (0 when none is mapped). */
    public synchronized long dataClusterCount() {
        return usedData.length();
    }
}
