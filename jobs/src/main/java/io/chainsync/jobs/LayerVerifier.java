package io.chainsync.jobs;

import io.chainsync.copier.Destinations;
import io.chainsync.copier.LayerManifest;
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
import io.chainsync.qcow2.Qcow2ClusterType;
import io.chainsync.qcow2.Qcow2Reader;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerScan;
import io.chainsync.scanner.LayerScanner;
import io.chainsync.scanner.LayerSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code chainsync verify}: compares every rebuilt layer with its source, without qemu at the
 * destination (docs/design.md §4, "Verification"). Per layer:
 * <ol>
 *   <li>the header: format by name, virtual size equal to the source's export size, backing file
 *       name and format as the chain (or {@code --backing}) says;</li>
 *   <li>the owned ranges: the source's decisions (depth or bitmap joined with
 *       {@code base:allocation}, §1) against the destination's own L2 map read by
 *       {@link Qcow2Reader} — skipped where the mode knows nothing of ownership (a bottom layer
 *       without depth, FLATTEN) and for raw layers, which own everything;</li>
 *   <li>the content of the layer read alone: on the source, DATA ranges read over NBD and every
 *       other range zero; on the destination, data clusters read from the file and every other
 *       cluster zero. Both are digested as a {@link BlockDigest} tree; spans are read in parallel
 *       over the source's NBD connections, and a span that holds no data on a side is not read.</li>
 * </ol>
 * The first difference ends the layer's check and is reported with its offset.
 */
public final class LayerVerifier {

    /** Bytes per parallel task: a whole number of digest blocks. */
    static final int SPAN = 32 * BlockDigest.BLOCK_SIZE;

    private final Path destination;
    private final CopyOptions options;

    /**
     * @param destination the directory holding the rebuilt layers
     * @param options the job's options: dirty bitmap, backing layer, flatten, NBD connections
     */
    public LayerVerifier(Path destination, CopyOptions options) {
        this.destination = destination;
        this.options = options;
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
    public record Outcome(String layer, boolean verified, long firstDifference, String reason, int ownedRanges,
                          String ownedDigest, String contentDigest) {

        static Outcome differs(String layer, long offset, String reason) {
            return new Outcome(layer, false, offset, reason, -1, null, null);
        }

        /** One line for people: {@code VERIFIED name ...} or {@code DIFFERS name at offset N: reason}. */
        public String line() {
            if (verified) {
                return "VERIFIED " + layer + " owned-ranges=" + (ownedRanges < 0 ? "-" : ownedRanges)
                        + " content=sha256:" + contentDigest;
            }
            return "DIFFERS " + layer + (firstDifference >= 0 ? " at offset " + firstDifference : "") + ": " + reason;
        }
    }

    /**
     * Verifies every layer, bottom first; every layer is checked even after one differs, and a
     * layer that cannot be checked (its source unreachable, its file unreadable) does not verify.
     */
    public List<Outcome> verify(List<LayerSpec> layers) {
        JobSpec.validateChain(layers);
        JobSpec.validateBase(layers, options.backing(), options.flatten(), options.dirtyBitmap());
        List<Outcome> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            String backing = i == 0 ? options.backing() : layers.get(i - 1).name();
            try {
                out.add(verifyLayer(layers.get(i), backing, i == 0 && backing == null));
            } catch (IOException | RuntimeException e) {
                out.add(Outcome.differs(layers.get(i).name(), -1, "cannot be verified: "
                        + (e.getMessage() == null ? e.toString() : e.getMessage())));
            }
        }
        return out;
    }

    private Outcome verifyLayer(LayerSpec layer, String backing, boolean bottom) throws IOException {
        String name = layer.name();
        Path target = Destinations.layerFile(destination, name);
        Outcome absent = absent(name, target);
        if (absent != null) {
            return absent;
        }
        NbdClient.Options clientOptions = NbdClient.Options.defaults()
                .withMetaContexts(DecisionTable.requestedContexts(options.dirtyBitmap()))
                .withConnections(options.connections())
                .withMaxInFlight(Math.max(4, 2 * options.connections()));
        try (NbdClient client = NbdClient.connect(layer.source(), clientOptions);
             Destination dest = Destination.open(target)) {
            DecisionTable.Mode mode = DecisionTable.selectMode(bottom, client.metaContexts(), options.dirtyBitmap(),
                    options.flatten());
            List<String> contexts = DecisionTable.contexts(mode, options.dirtyBitmap());
            LayerScan scan = new LayerScanner(client, contexts).scan();
            long size = client.size();
            List<Decision> decisions = LayerDecisions.decide(mode, 0, size, scan.of(MetaContexts.BASE_ALLOCATION),
                    contexts.size() > 1 ? scan.of(contexts.get(1)) : null);
            String header = dest.headerDifference(size, backing);
            if (header != null) {
                return Outcome.differs(name, dest.virtualSize() != size ? Math.min(size, dest.virtualSize()) : -1,
                        header);
            }
            OwnedRanges owned = dest.raw() ? null : dest.ownedRanges();
            if (owned != null && mode.exactOwnership()) {
                long at = OwnedRanges.of(decisions).firstDifference(owned);
                if (at >= 0) {
                    return Outcome.differs(name, at, ownsAt(decisions, at)
                            ? "owned ranges differ: the source layer provides this range, the rebuilt one does not"
                            : "owned ranges differ: the rebuilt layer provides this range, the source layer does not");
                }
            }
            long[] difference = {-1};
            String digest = content(client, decisions, dest, size, difference);
            if (difference[0] >= 0) {
                return Outcome.differs(name, difference[0], "content of the layer read alone differs");
            }
            Outcome verified = new Outcome(name, true, -1, null, owned == null ? -1 : owned.count(),
                    owned == null ? null : owned.digest(), digest);
            record(dest, verified, backing, layer.source().toString());
            return verified;
        } catch (NotReproducibleException e) {
            return Outcome.differs(name, -1, e.getMessage());
        }
    }

    /**
     * Records a verified layer's digests in its manifest (docs/design.md §3, "How a layer becomes
     * durable"): the pipeline's manifest keeps its job; a layer without one (written by
     * {@code copy}) gets one.
     */
    private void record(Destination dest, Outcome verified, String backing, String source) throws IOException {
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
     * Checks every layer of the destination that has a manifest against it, with the sources gone:
     * header (size, cluster size, backing), the owned ranges' count and digest, and the content
     * digest, all recomputed from the destination alone.
     *
     * @return one outcome per manifest, in name order; none when the directory holds no manifest
     */
    public List<Outcome> verifyManifests() throws IOException {
        List<String> names = new ArrayList<>();
        try (var entries = Files.list(destination)) {
            entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(LayerManifest.SUFFIX) && !n.startsWith("."))
                    .sorted().forEach(names::add);
        }
        List<Outcome> out = new ArrayList<>();
        for (String manifestName : names) {
            LayerManifest manifest = LayerManifest.read(destination.resolve(manifestName));
            out.add(checkManifest(manifest));
        }
        return out;
    }

    private Outcome checkManifest(LayerManifest m) throws IOException {
        String name = m.layer();
        Path target = Destinations.layerFile(destination, name);
        Outcome absent = absent(name, target);
        if (absent != null) {
            return absent;
        }
        if (m.contentDigest() == null) {
            return Outcome.differs(name, -1, "its manifest holds no digests: verify it against its source first");
        }
        try (Destination dest = Destination.open(target)) {
            String header = dest.headerDifference(m.virtualSize(), m.backing());
            if (header == null && !dest.raw() && dest.clusterSize() != m.clusterSize()) {
                header = "cluster size " + dest.clusterSize() + ", the manifest says " + m.clusterSize();
            }
            if (header != null) {
                return Outcome.differs(name, -1, header + " (manifest)");
            }
            OwnedRanges owned = dest.raw() ? null : dest.ownedRanges();
            if (owned != null && (m.ownedRanges() == null || owned.count() != m.ownedRanges()
                    || !owned.digest().equals(m.ownedDigest()))) {
                return Outcome.differs(name, -1, "owned ranges differ from the manifest (" + owned.count() + " ranges, "
                        + m.ownedRanges() + " recorded)");
            }
            long[] unused = {-1};
            String content = content(null, null, dest, dest.virtualSize(), unused);
            if (!m.contentDigest().equals(content)) {
                return Outcome.differs(name, -1, "content digest differs from the manifest");
            }
            return new Outcome(name, true, -1, null, owned == null ? -1 : owned.count(),
                    owned == null ? null : owned.digest(), content);
        }
    }

    /** The outcome of a layer that is not a regular file in the destination, or null. */
    private Outcome absent(String name, Path target) {
        if (Files.isSymbolicLink(target)) {
            return Outcome.differs(name, -1, "the layer is a symbolic link; it is never followed");
        }
        if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
            return Outcome.differs(name, 0, "the layer is missing from " + destination);
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
     * Digests both sides span by span, in parallel, folding the block hashes in order; stops at the
     * first differing block and sets {@code difference[0]} to its first differing byte.
     *
     * @return the destination's content digest (equal to the source's when nothing differs)
     */
    private String content(NbdClient client, List<Decision> decisions, Destination dest, long size,
                           long[] difference) throws IOException {
        BlockDigest tree = new BlockDigest(size);
        int threads = options.connections();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "chainsync-verify");
            t.setDaemon(true);
            return t;
        });
        try {
            long spans = (size + SPAN - 1) / SPAN;
            int window = 2 * threads;
            for (long first = 0; first < spans; first += window) {
                List<Future<Span>> futures = new ArrayList<>();
                for (long s = first; s < Math.min(spans, first + window); s++) {
                    long start = s * SPAN;
                    int length = (int) Math.min(SPAN, size - start);
                    List<Decision> data = client == null ? null : dataIn(decisions, start, start + length);
                    futures.add(pool.submit(() -> Span.digest(client, data, dest, start, length)));
                }
                for (Future<Span> f : futures) {
                    Span span = await(f);
                    if (span.difference >= 0) {
                        difference[0] = span.difference;
                        return null;
                    }
                    span.destHashes.forEach(tree::add);
                }
            }
            return tree.root();
        } finally {
            pool.shutdownNow();
        }
    }

    private static Span await(Future<Span> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause());
        }
    }

    /** The DATA decisions overlapping [start, end), clipped to it. */
    private static List<Decision> dataIn(List<Decision> decisions, long start, long end) {
        List<Decision> out = new ArrayList<>();
        int lo = 0;
        int hi = decisions.size();
        while (lo < hi) { // the first decision ending after start
            int mid = (lo + hi) >>> 1;
            if (decisions.get(mid).end() <= start) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (int i = lo; i < decisions.size() && decisions.get(i).offset() < end; i++) {
            Decision d = decisions.get(i);
            if (d.action() == Action.DATA) {
                long s = Math.max(start, d.offset());
                out.add(new Decision(s, Math.min(end, d.end()) - s, Action.DATA));
            }
        }
        return out;
    }

    /** One span's block hashes; {@code difference} is the first differing byte, or -1. */
    private record Span(List<byte[]> destHashes, long difference) {

        /** Compares with the source's DATA decisions {@code data}; with a null client, digests only. */
        static Span digest(NbdClient client, List<Decision> data, Destination dest, long start, int length)
                throws IOException {
            if (client == null) {
                ByteBuffer mine = dest.read(start, length);
                List<byte[]> hashes = new ArrayList<>();
                for (int at = 0; at < length; at += BlockDigest.BLOCK_SIZE) {
                    int n = Math.min(BlockDigest.BLOCK_SIZE, length - at);
                    hashes.add(mine == null ? BlockDigest.zeroBlock(n) : BlockDigest.ofBlock(mine.slice(at, n)));
                }
                return new Span(hashes, -1);
            }
            ByteBuffer source = null;
            if (!data.isEmpty()) {
                source = ByteBuffer.allocate(length);
                for (Decision d : data) { // DATA read over NBD; all the rest reads as zeroes alone
                    client.readFully(d.offset(), source.slice((int) (d.offset() - start), (int) d.length()));
                }
            }
            ByteBuffer mine = dest.read(start, length);
            List<byte[]> hashes = new ArrayList<>();
            for (int at = 0; at < length; at += BlockDigest.BLOCK_SIZE) {
                int n = Math.min(BlockDigest.BLOCK_SIZE, length - at);
                // equal bytes have equal hashes: compare the blocks directly, hash the destination's once
                int differs = firstDifference(source, mine, at, n);
                if (differs >= 0) {
                    return new Span(hashes, start + at + differs);
                }
                hashes.add(mine == null || source == null ? BlockDigest.zeroBlock(n)
                        : BlockDigest.ofBlock(mine.slice(at, n)));
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

        /** The span's bytes of the layer read alone, or null when it holds no data there. */
        ByteBuffer read(long start, int length) throws IOException {
            if (raw()) {
                ByteBuffer buf = ByteBuffer.allocate(length);
                readFully(start, buf);
                return buf;
            }
            long clusterSize = reader.clusterSize();
            ByteBuffer buf = null;
            for (long off = start; off < start + length; ) {
                long c = off / clusterSize;
                long next = Math.min(start + length, (c + 1) * clusterSize);
                Qcow2ClusterType type = reader.typeOf(c);
                if (type == Qcow2ClusterType.NORMAL || type == Qcow2ClusterType.COMPRESSED) {
                    if (buf == null) {
                        buf = ByteBuffer.allocate(length);
                    }
                    ByteBuffer part = buf.slice((int) (off - start), (int) (next - off));
                    if (type == Qcow2ClusterType.NORMAL) {
                        readFully(reader.hostOffset(c) + (off - c * clusterSize), part);
                    } else {
                        reader.read(off, part);
                    }
                }
                off = next;
            }
            return buf;
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
