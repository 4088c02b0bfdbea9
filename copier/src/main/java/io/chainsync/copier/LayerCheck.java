package io.chainsync.copier;

import io.chainsync.core.Action;
import io.chainsync.core.BlockDigest;
import io.chainsync.core.Decision;
import io.chainsync.core.DecisionTable;
import io.chainsync.core.LayerDecisions;
import io.chainsync.core.LayerFormat;
import io.chainsync.core.MetaContexts;
import io.chainsync.core.NotReproducibleException;
import io.chainsync.core.OwnedRanges;
import io.chainsync.nbd.NbdClient;
import io.chainsync.nbd.NbdUri;
import io.chainsync.qcow2.Qcow2ClusterType;
import io.chainsync.qcow2.Qcow2Reader;
import io.chainsync.scanner.LayerScan;
import io.chainsync.scanner.LayerScanner;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Arrays;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Verifies one rebuilt layer against its source, without qemu at the destination (docs/design.md
 * §4, "Verification"): the header, the owned ranges (the source's decisions against the layer's own
 * L2 map) and a {@link BlockDigest} of the layer's content read alone on both sides. Used by
 * {@code chainsync verify} and by the copier, which verifies a layer of a job that asked for it
 * right after finalizing it (§3, "Verification in the pipeline").
 *
 * <p>The content is compared span by span ({@link #SPAN} bytes), pipelined like the copy: the
 * source's DATA ranges of the next spans are read asynchronously in {@link #REQUEST} pieces spread
 * over the client's connections ({@link NbdClient#QUEUE_DEPTH} outstanding in all) while worker
 * threads read the destination's data clusters (each contiguous host run with one read) and
 * compare and hash earlier spans. At most {@link #WINDOW}
 * spans are in flight, so memory does not grow with the layer; their buffers are reused, span
 * after span (fresh 2 MiB arrays would cost a zeroing each, and a humongous allocation in G1's
 * small heaps). A range that holds no data on a side is neither read nor hashed there (an all-zero
 * block's hash is a constant); equal blocks are compared directly and hashed once. Each side's span
 * marks which digest blocks hold data it read ({@link Blocks}): only those are zeroed around the
 * data, compared and hashed, so a block that is a hole on both sides costs nothing at all.
 */
public final class LayerCheck {

    /** Bytes per span: a whole number of digest blocks. */
    static final int SPAN = 32 * BlockDigest.BLOCK_SIZE;
    /** Bytes per NBD read request of the source: many small requests keep qemu-nbd busy, as in the copy. */
    static final int REQUEST = 256 << 10;
    /** Spans in flight (two buffers of {@link #SPAN} bytes each at most). */
    static final int WINDOW = 12;

    private final Path destination;
    private final int connections;

    /**
     * @param destination the directory holding the rebuilt layers
     * @param connections NBD connections to each source (as the server allows multi-conn)
     */
    public LayerCheck(Path destination, int connections) {
        this.destination = destination;
        this.connections = connections;
    }

    /** How the source is read: the decision mode, from the contexts the server offers. */
    @FunctionalInterface
    public interface ModeChoice {
        DecisionTable.Mode of(Set<String> offered);
    }

    /**
     * The verdict on one layer.
     *
     * @param firstDifference the first offset where the layer differs, or -1 (also when the
     *                        difference has no offset, as a wrong backing file name)
     * @param reason what differs, null when verified
     * @param ownedRanges the number of ranges the destination layer owns (-1 when not compared)
     * @param ownedDigest their digest ({@link OwnedRanges#digest()}), or null
     * @param contentDigest the {@link BlockDigest} root of the layer read alone, or null
     */
    public record Verdict(String layer, boolean verified, long firstDifference, String reason, int ownedRanges,
                          String ownedDigest, String contentDigest) {

        public static Verdict differs(String layer, long offset, String reason) {
            return new Verdict(layer, false, offset, reason, -1, null, null);
        }
    }

    /**
     * Verifies layer {@code name} of the destination against {@code source} and, when it verifies,
     * records its digests in its manifest (docs/design.md §3, "How a layer becomes durable"): the
     * pipeline's manifest keeps its job; a layer without one (written by {@code copy}) gets one.
     *
     * @param backing the backing file the layer's header must name, or null
     * @param dirtyBitmap the incremental bitmap, or null
     * @throws IOException when the layer cannot be checked (source unreachable, file unreadable):
     *                     no verdict
     */
    public Verdict verify(String name, NbdUri source, String backing, String dirtyBitmap, ModeChoice modes)
            throws IOException {
        Path target = Destinations.layerFile(destination, name);
        Verdict absent = absent(name, target);
        if (absent != null) {
            return absent;
        }
        NbdClient.Options clientOptions = NbdClient.Options.defaults()
                .withMetaContexts(DecisionTable.requestedContexts(dirtyBitmap))
                .withConnections(connections)
                .withMaxInFlight(Math.max(1, NbdClient.QUEUE_DEPTH / connections));
        try (NbdClient client = NbdClient.connect(source, clientOptions);
             Destination dest = Destination.open(target)) {
            DecisionTable.Mode mode = modes.of(client.metaContexts());
            List<String> contexts = DecisionTable.contexts(mode, dirtyBitmap);
            LayerScan scan = new LayerScanner(client, contexts).scan();
            long size = client.size();
            List<Decision> decisions = LayerDecisions.decide(mode, 0, size, scan.of(MetaContexts.BASE_ALLOCATION),
                    contexts.size() > 1 ? scan.of(contexts.get(1)) : null);
            String header = dest.headerDifference(size, backing);
            if (header != null) {
                return Verdict.differs(name, dest.virtualSize() != size ? Math.min(size, dest.virtualSize()) : -1,
                        header);
            }
            OwnedRanges owned = dest.raw() ? null : dest.ownedRanges();
            if (owned != null && mode.exactOwnership()) {
                long at = OwnedRanges.of(decisions).firstDifference(owned);
                if (at >= 0) {
                    return Verdict.differs(name, at, ownsAt(decisions, at)
                            ? "owned ranges differ: the source layer provides this range, the rebuilt one does not"
                            : "owned ranges differ: the rebuilt layer provides this range, the source layer does not");
                }
            }
            long[] difference = {-1};
            String digest = content(client, decisions, dest, size, difference);
            if (difference[0] >= 0) {
                return Verdict.differs(name, difference[0], "content of the layer read alone differs");
            }
            Verdict verified = new Verdict(name, true, -1, null, owned == null ? -1 : owned.count(),
                    owned == null ? null : owned.digest(), digest);
            record(dest, verified, backing, source.toString());
            return verified;
        } catch (NotReproducibleException e) {
            return Verdict.differs(name, -1, e.getMessage());
        }
    }

    private void record(Destination dest, Verdict verified, String backing, String source) throws IOException {
        Path manifestFile = destination.resolve(LayerManifest.fileName(verified.layer()));
        LayerManifest manifest = LayerManifest.read(manifestFile);
        if (manifest == null) {
            manifest = LayerManifest.ofLayer(verified.layer(), dest.virtualSize(), dest.clusterSize(),
                    dest.dataClusters(), backing);
        }
        manifest.verified(verified.ownedRanges() < 0 ? null : verified.ownedRanges(), verified.ownedDigest(),
                verified.contentDigest(), source).writeIn(destination);
    }

    /**
     * Checks a layer of the destination against its manifest, with the source gone: header (size,
     * cluster size, backing), the owned ranges' count and digest, and the content digest, all
     * recomputed from the destination alone.
     */
    public Verdict checkManifest(LayerManifest m) throws IOException {
        String name = m.layer();
        Path target = Destinations.layerFile(destination, name);
        Verdict absent = absent(name, target);
        if (absent != null) {
            return absent;
        }
        if (m.contentDigest() == null) {
            return Verdict.differs(name, -1, "its manifest holds no digests: verify it against its source first");
        }
        try (Destination dest = Destination.open(target)) {
            String header = dest.headerDifference(m.virtualSize(), m.backing());
            if (header == null && !dest.raw() && dest.clusterSize() != m.clusterSize()) {
                header = "cluster size " + dest.clusterSize() + ", the manifest says " + m.clusterSize();
            }
            if (header != null) {
                return Verdict.differs(name, -1, header + " (manifest)");
            }
            OwnedRanges owned = dest.raw() ? null : dest.ownedRanges();
            if (owned != null && (m.ownedRanges() == null || owned.count() != m.ownedRanges()
                    || !owned.digest().equals(m.ownedDigest()))) {
                return Verdict.differs(name, -1, "owned ranges differ from the manifest (" + owned.count()
                        + " ranges, " + m.ownedRanges() + " recorded)");
            }
            long[] unused = {-1};
            String content = content(null, List.of(), dest, dest.virtualSize(), unused);
            if (!m.contentDigest().equals(content)) {
                return Verdict.differs(name, -1, "content digest differs from the manifest");
            }
            return new Verdict(name, true, -1, null, owned == null ? -1 : owned.count(),
                    owned == null ? null : owned.digest(), content);
        }
    }

    /** The verdict on a layer that is not a regular file in the destination, or null. */
    private Verdict absent(String name, Path target) {
        if (Files.isSymbolicLink(target)) {
            return Verdict.differs(name, -1, "the layer is a symbolic link; it is never followed");
        }
        if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
            return Verdict.differs(name, 0, "the layer is missing from " + destination);
        }
        return null;
    }

    private static boolean ownsAt(List<Decision> decisions, long offset) {
        for (Decision d : decisions) {
            if (offset >= d.offset() && offset < d.end()) {
                return d.action() != Action.SKIP;
            }
        }
        return false;
    }

    /**
     * Digests both sides span by span, pipelined (see the class comment), folding the block hashes
     * in order; stops at the first differing block and sets {@code difference[0]} to its first
     * differing byte. With a null client only the destination is digested.
     *
     * @return the destination's content digest (equal to the source's when nothing differs)
     */
    private String content(NbdClient client, List<Decision> decisions, Destination dest, long size,
                           long[] difference) throws IOException {
        BlockDigest tree = new BlockDigest(size);
        int threads = Math.max(2, Math.min(connections, Runtime.getRuntime().availableProcessors()));
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "chainsync-verify");
            t.setDaemon(true);
            return t;
        });
        Deque<Future<Span>> inFlight = new ArrayDeque<>();
        Buffers buffers = new Buffers();
        try {
            long spans = (size + SPAN - 1) / SPAN;
            long next = 0;
            int cursor = 0; // the first decision that may overlap the next span
            for (long s = 0; s < spans; s++) {
                while (next < spans && inFlight.size() < WINDOW) {
                    long start = next * SPAN;
                    int length = (int) Math.min(SPAN, size - start);
                    while (cursor < decisions.size() && decisions.get(cursor).end() <= start) {
                        cursor++;
                    }
                    SourceSpan source = client == null ? null
                            : SourceSpan.read(client, decisions, cursor, start, length, buffers);
                    inFlight.add(pool.submit(() -> Span.digest(source, client != null, dest, start, length, buffers)));
                    next++;
                }
                Span span = await(inFlight.poll());
                if (span.difference >= 0) {
                    difference[0] = span.difference;
                    return null;
                }
                span.destHashes.forEach(tree::add);
            }
            return tree.root();
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> T await(Future<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(e.getCause());
        }
    }

    /**
     * Span buffers ({@link #SPAN} bytes on the heap: hashed and compared in place), reused: a span
     * takes one per side that holds data and gives them back once hashed. At most two per span in
     * flight exist.
     */
    private static final class Buffers {
        private final Queue<byte[]> free = new ConcurrentLinkedQueue<>();

        /** A buffer of {@code length} bytes whose content is undefined: the caller fills all of it. */
        ByteBuffer take(int length) {
            byte[] b = free.poll();
            return ByteBuffer.wrap(b == null ? new byte[SPAN] : b, 0, length).slice();
        }

        void give(ByteBuffer buffer) {
            if (buffer != null) {
                free.offer(buffer.array());
            }
        }
    }

    /** Zeroes {@code buffer}'s bytes [from, to) (indexes in the buffer). */
    private static void zero(ByteBuffer buffer, int from, int to) {
        if (from < to) {
            Arrays.fill(buffer.array(), buffer.arrayOffset() + from, buffer.arrayOffset() + to, (byte) 0);
        }
    }

    /**
     * Which digest blocks of a span hold data read into its buffer: bit {@code i} for block
     * {@code i} (a span has {@link #SPAN} / {@link BlockDigest#BLOCK_SIZE} = 32 blocks). Only a
     * marked block's bytes are defined: its data, and zeroes where it has none. An unmarked block
     * reads as zeroes and its bytes in the buffer are left as they were.
     */
    static final class Blocks {
        private Blocks() {
        }

        /** {@code mask} with the blocks that overlap bytes [from, to) of the span marked. */
        static long mark(long mask, int from, int to) {
            if (from >= to) {
                return mask;
            }
            int first = from / BlockDigest.BLOCK_SIZE;
            int last = (to - 1) / BlockDigest.BLOCK_SIZE;
            long bits = last - first == 63 ? -1L : ((1L << (last - first + 1)) - 1);
            return mask | (bits << first);
        }

        static boolean has(long mask, int at) {
            return (mask >>> (at / BlockDigest.BLOCK_SIZE) & 1) != 0;
        }

        /**
         * Zeroes the bytes [from, to) of a gap between data (or at a span's ends) where they share a
         * block with data: the part in the gap's first block and the part in its last. Blocks wholly
         * inside the gap are left alone (unmarked, they read as zeroes).
         */
        static void zeroGap(ByteBuffer buffer, int from, int to) {
            if (from >= to) {
                return;
            }
            int b = BlockDigest.BLOCK_SIZE;
            if (from / b == (to - 1) / b) {
                zero(buffer, from, to);
                return;
            }
            zero(buffer, from, Math.min(to, (from + b - 1) / b * b));
            zero(buffer, Math.max(from, to / b * b), to);
        }
    }

    /** A span's source bytes on their way: its DATA ranges requested, every other byte zero. */
    private record SourceSpan(ByteBuffer bytes, long blocks, CompletableFuture<Void> done) {

        /** Requests the DATA decisions from {@code first} on that overlap [start, start+length). */
        static SourceSpan read(NbdClient client, List<Decision> decisions, int first, long start, int length,
                               Buffers buffers) {
            long end = start + length;
            ByteBuffer bytes = null;
            int filled = 0; // bytes [0, filled) of the buffer are accounted for (read, zeroed or unmarked)
            long blocks = 0;
            List<CompletableFuture<Void>> parts = new ArrayList<>();
            for (int i = first; i < decisions.size() && decisions.get(i).offset() < end; i++) {
                Decision d = decisions.get(i);
                if (d.action() != Action.DATA) {
                    continue;
                }
                if (bytes == null) {
                    bytes = buffers.take(length);
                }
                long from = Math.max(start, d.offset());
                long to = Math.min(end, d.end());
                Blocks.zeroGap(bytes, filled, (int) (from - start));
                blocks = Blocks.mark(blocks, (int) (from - start), (int) (to - start));
                for (long at = from; at < to; at += REQUEST) {
                    int n = (int) Math.min(REQUEST, to - at);
                    parts.add(client.read(at, bytes.slice((int) (at - start), n)));
                }
                filled = (int) (to - start);
            }
            if (bytes != null) {
                Blocks.zeroGap(bytes, filled, length);
            }
            return new SourceSpan(bytes, blocks, CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)));
        }

        /** The bytes once read, or null when the span holds no data on the source. */
        ByteBuffer await() throws IOException {
            NbdClient.await(done);
            return bytes;
        }
    }

    /** One span's block hashes; {@code difference} is the first differing byte, or -1. */
    private record Span(List<byte[]> destHashes, long difference) {

        /** Compares with the source's bytes ({@code compare}); otherwise digests the destination only. */
        static Span digest(SourceSpan sourceSpan, boolean compare, Destination dest, long start, int length,
                           Buffers buffers) throws IOException {
            Destination.Read mine = dest.read(start, length, buffers);
            ByteBuffer source = compare ? sourceSpan.await() : null;
            try {
                return digest(source, source == null ? 0 : sourceSpan.blocks(), mine == null ? null : mine.bytes(),
                        mine == null ? 0 : mine.blocks(), compare, start, length);
            } finally {
                buffers.give(source);
                buffers.give(mine == null ? null : mine.bytes());
            }
        }

        private static Span digest(ByteBuffer source, long sourceBlocks, ByteBuffer mine, long mineBlocks,
                                   boolean compare, long start, int length) {
            List<byte[]> hashes = new ArrayList<>(length / BlockDigest.BLOCK_SIZE + 1);
            for (int at = 0; at < length; at += BlockDigest.BLOCK_SIZE) {
                int n = Math.min(BlockDigest.BLOCK_SIZE, length - at);
                ByteBuffer a = Blocks.has(sourceBlocks, at) ? source : null;
                ByteBuffer b = Blocks.has(mineBlocks, at) ? mine : null;
                if (compare) {
                    // equal bytes have equal hashes: compare the blocks directly, hash the destination's once
                    int differs = firstDifference(a, b, at, n);
                    if (differs >= 0) {
                        return new Span(hashes, start + at + differs);
                    }
                }
                hashes.add(b == null ? BlockDigest.zeroBlock(n) : BlockDigest.ofBlock(b.slice(at, n)));
            }
            return new Span(hashes, -1);
        }

        /** The first differing byte of the two blocks (a null side reads as zeroes), or -1. */
        private static int firstDifference(ByteBuffer a, ByteBuffer b, int at, int n) {
            if (a == null && b == null) {
                return -1;
            }
            if (a == null || b == null) {
                ByteBuffer data = (a == null ? b : a).slice(at, n);
                return BlockDigest.isZero(data) ? -1 : firstNonZero(data);
            }
            return a.slice(at, n).mismatch(b.slice(at, n));
        }

        private static int firstNonZero(ByteBuffer data) {
            for (int i = 0; i < data.remaining(); i++) {
                if (data.get(data.position() + i) != 0) {
                    return i;
                }
            }
            return -1;
        }
    }

    /** The rebuilt layer, read without qemu: a qcow2 image through {@link Qcow2Reader}, or a raw file. */
    private static final class Destination implements AutoCloseable {
        private final Path path;
        private final FileChannel channel;
        private final Qcow2Reader reader;

        private Destination(Path path, FileChannel channel, Qcow2Reader reader) {
            this.path = path;
            this.channel = channel;
            this.reader = reader;
        }

        static Destination open(Path path) throws IOException {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            try {
                Qcow2Reader reader = LayerFormat.of(path.getFileName().toString()) == LayerFormat.RAW
                        ? null : Qcow2Reader.open(path);
                return new Destination(path, channel, reader);
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        boolean raw() {
            return reader == null;
        }

        long clusterSize() {
            return raw() ? 0 : reader.clusterSize();
        }

        /** The clusters holding data (0 for raw: it has no clusters). */
        long dataClusters() throws IOException {
            long n = 0;
            for (long c = 0; !raw() && c < reader.guestClusters(); c++) {
                Qcow2ClusterType type = reader.typeOf(c);
                if (type == Qcow2ClusterType.NORMAL || type == Qcow2ClusterType.COMPRESSED) {
                    n++;
                }
            }
            return n;
        }

        long virtualSize() throws IOException {
            return raw() ? channel.size() : reader.virtualSize();
        }

        /** What is wrong with the header, or null. */
        String headerDifference(long size, String backing) throws IOException {
            if (virtualSize() != size) {
                return "virtual size " + virtualSize() + ", the source exports " + size;
            }
            if (raw()) {
                return null;
            }
            String format = backing == null ? null : LayerFormat.of(backing).qemuName();
            if (!Objects.equals(reader.backingFile(), backing)) {
                return "backing file " + reader.backingFile() + ", expected " + backing;
            }
            if (backing != null && !Objects.equals(reader.backingFormat(), format)) {
                return "backing format " + reader.backingFormat() + ", expected " + format;
            }
            return null;
        }

        /** The clusters the layer provides itself: zero and allocated, from its own L2 tables. */
        OwnedRanges ownedRanges() throws IOException {
            OwnedRanges.Builder b = new OwnedRanges.Builder();
            long clusterSize = reader.clusterSize();
            long size = reader.virtualSize();
            for (long c = 0; c < reader.guestClusters(); c++) {
                if (reader.typeOf(c) != Qcow2ClusterType.UNALLOCATED) {
                    long off = c * clusterSize;
                    b.add(off, Math.min(clusterSize, size - off));
                }
            }
            return b.build();
        }

        /**
         * The span's bytes of the layer read alone, or null when it holds no data there. Data
         * clusters that follow each other on the host are read with one read.
         */
        Read read(long start, int length, Buffers buffers) throws IOException {
            if (raw()) {
                ByteBuffer buf = buffers.take(length);
                readFully(start, buf.duplicate());
                if (BlockDigest.isZero(buf)) {
                    buffers.give(buf);
                    return null;
                }
                return new Read(buf, Blocks.mark(0, 0, length));
            }
            long clusterSize = reader.clusterSize();
            Fill fill = new Fill(buffers, start, length);
            long runGuest = -1; // a pending run of NORMAL clusters contiguous on the host
            long runHost = -1;
            long runEnd = -1;
            for (long off = start; off < start + length; ) {
                long c = off / clusterSize;
                long next = Math.min(start + length, (c + 1) * clusterSize);
                Qcow2ClusterType type = reader.typeOf(c);
                if (type == Qcow2ClusterType.NORMAL) {
                    long host = reader.hostOffset(c) + (off - c * clusterSize);
                    if (runGuest >= 0 && host == runHost + (runEnd - runGuest)) {
                        runEnd = next;
                    } else {
                        flush(fill, runGuest, runHost, runEnd);
                        runGuest = off;
                        runHost = host;
                        runEnd = next;
                    }
                } else {
                    flush(fill, runGuest, runHost, runEnd);
                    runGuest = -1;
                    if (type == Qcow2ClusterType.COMPRESSED) {
                        reader.read(off, fill.at(off, next));
                    }
                }
                off = next;
            }
            flush(fill, runGuest, runHost, runEnd);
            return fill.finish();
        }

        /** Reads the pending run [guest, end) from host offset {@code host} into the span's buffer. */
        private void flush(Fill fill, long guest, long host, long end) throws IOException {
            if (guest >= 0) {
                readFully(host, fill.at(guest, end));
            }
        }

        /** A span's bytes read from the layer, and which of its blocks hold them ({@link Blocks}). */
        record Read(ByteBuffer bytes, long blocks) {
        }

        /**
         * A span's buffer filled in guest order: taken at the first data, the bytes skipped
         * between the parts given out zeroed where they share a block with data.
         */
        private static final class Fill {
            private final Buffers buffers;
            private final long start;
            private final int length;
            private ByteBuffer buf;
            private int filled;
            private long blocks;

            Fill(Buffers buffers, long start, int length) {
                this.buffers = buffers;
                this.start = start;
                this.length = length;
            }

            /** The part of the buffer for guest bytes [from, to), bytes before it zeroed. */
            ByteBuffer at(long from, long to) {
                if (buf == null) {
                    buf = buffers.take(length);
                }
                Blocks.zeroGap(buf, filled, (int) (from - start));
                blocks = Blocks.mark(blocks, (int) (from - start), (int) (to - start));
                filled = (int) (to - start);
                return buf.slice((int) (from - start), (int) (to - from));
            }

            /** The buffer and its blocks, the tail zeroed where it shares a block with data; null without data. */
            Read finish() {
                if (buf == null) {
                    return null;
                }
                Blocks.zeroGap(buf, filled, length);
                return new Read(buf, blocks);
            }
        }

        private void readFully(long position, ByteBuffer dst) throws IOException {
            long pos = position;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, pos);
                if (n < 0) {
                    throw new IOException(path + " ends at " + pos + " inside its data");
                }
                pos += n;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                channel.close();
            } finally {
                if (reader != null) {
                    reader.close();
                }
            }
        }
    }
}
