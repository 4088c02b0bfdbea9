package io.chainsync.nbd;

import io.chainsync.core.MetaContexts;

import static io.chainsync.core.MetaContexts.BASE_ALLOCATION;
import static io.chainsync.core.MetaContexts.ALLOCATION_DEPTH;
import static io.chainsync.core.MetaContexts.STATE_HOLE;
import static io.chainsync.core.MetaContexts.STATE_ZERO;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.protocol.BlockStatusExtent;
import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.NbdRequestException;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.NbdkitServer;
import io.chainsync.testkit.QemuImg;
import io.chainsync.testkit.QemuNbdServer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs the client against real qemu-nbd and nbdkit servers on Unix sockets.
 *
 * <p>The seed layer of docs/design.md §1: base {@code ABC-}, top {@code -D0-} (D written at 64k, a zero
 * cluster at 128k). The top layer is served alone ({@code backing:null}, {@code -A}); a raw file with
 * the same guest content (D at 64k, the rest sparse) is served without {@code -A}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NbdClientIT {

    private static final int K = 1024;
    private static final int MIB = 1024 * 1024;
    private static final int SEED_SIZE = 256 * K;
    private static final long BIG_SIZE = 80L * MIB;
    private static final long BIG_HOLE_START = 8L * MIB;
    private static final long BIG_HOLE_END = 16L * MIB;

    @TempDir
    static Path dir;

    private final List<NbdServer> servers = new ArrayList<>();
    private NbdServer qcow2;
    private NbdServer raw;
    private NbdServer big;
    private NbdServer scratch;
    private NbdServer smallMax;
    private NbdServer failing;
    private Path failReads;

    @BeforeAll
    void startServers() throws Exception {
        Chain seed = ChainBuilder.seed(dir, false); // base.qcow2 ABC-, top.qcow2 -D0-
        Path seedRaw = ChainBuilder.in(dir).size(SEED_SIZE).base("seed.raw").pattern("-D--").build().bottom().path();

        Path bigRaw = dir.resolve("big.raw");
        try (RandomAccessFile file = new RandomAccessFile(bigRaw.toFile(), "rw")) {
            file.setLength(BIG_SIZE);
            byte[] chunk = new byte[MIB];
            for (long offset = 0; offset < BIG_SIZE; offset += MIB) {
                if (offset >= BIG_HOLE_START && offset < BIG_HOLE_END) {
                    continue;
                }
                for (int i = 0; i < MIB; i++) {
                    chunk[i] = pattern(offset + i);
                }
                file.seek(offset);
                file.write(chunk);
            }
        }
        Path scratchRaw = dir.resolve("scratch.raw");
        QemuImg.create(scratchRaw, "raw", 4 * MIB);
        failReads = dir.resolve("fail-reads");

        // qemu-nbd -r -t -A -e 8 -f qcow2 'json:{…"backing":null…}': the top layer alone
        qcow2 = serve(QemuNbdServer.serveLayerAlone(seed.top().path(), dir));
        // qemu-nbd -r -t -e 8 -f raw
        raw = serve(QemuNbdServer.serveRaw(seedRaw, dir));
        big = serve(QemuNbdServer.serveRaw(bigRaw, dir));
        // qemu-nbd -t -e 1 --discard=unmap -f raw: writable, one client at a time (qemu-nbd's default)
        scratch = serve(QemuNbdServer.builder(scratchRaw.toString(), "raw").writable().allocationDepth(false)
                .shared(1).arg("--discard=unmap").start(dir));
        smallMax = serve(NbdkitServer.builder("memory").filter("blocksize-policy").param("size", "4M")
                .param("blocksize-minimum", "512").param("blocksize-preferred", "4096")
                .param("blocksize-maximum", "64K").param("blocksize-error-policy", "error").start(dir));
        failing = serve(NbdkitServer.builder("memory").filter("error").param("size", "1M")
                .param("error-pread", "EIO").param("error-pread-rate", "100%")
                .param("error-pread-file", failReads.toString()).start(dir));
    }

    private NbdServer serve(NbdServer server) {
        servers.add(server);
        return server;
    }

    @AfterAll
    void stopServers() {
        servers.forEach(NbdServer::close);
    }

    /** The server's default export (the empty name). */
    private static NbdUri uri(NbdServer server) {
        return uri(server, "");
    }

    private static NbdUri uri(NbdServer server, String export) {
        return NbdUri.unix(server.socket(), export);
    }

    private static byte pattern(long offset) {
        long x = offset * 0x9e3779b97f4a7c15L;
        return (byte) (x >>> 56 ^ offset >>> 12);
    }

    private static byte expectedBig(long offset) {
        return offset >= BIG_HOLE_START && offset < BIG_HOLE_END ? 0 : pattern(offset);
    }

    private NbdServer seed(String kind) {
        return kind.equals("qcow2") ? qcow2 : raw;
    }

    private static NbdClient.Options bothContexts() {
        return NbdClient.Options.defaults().withMetaContexts(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
    }

    /** Guest content of the seed top layer alone: D at [64k,128k), zeroes elsewhere. */
    private static byte[] seedContent() {
        byte[] expected = new byte[SEED_SIZE];
        for (int i = 64 * K; i < 128 * K; i++) {
            expected[i] = 0x44;
        }
        return expected;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    // ------------------------------------------------------------------ handshake

    @ParameterizedTest
    @ValueSource(strings = {"raw", "qcow2"})
    void handshakeNegotiatesSizeFlagsAndContexts(String kind) throws IOException {
        try (NbdClient client = NbdClient.connect(uri(seed(kind)), bothContexts())) {
            assertEquals(SEED_SIZE, client.size());
            assertTrue(client.readOnly());
            assertTrue(client.structuredReplies());
            assertEquals(new BlockSize(1, 4096, 32 * MIB), client.blockSize());
            assertTrue(client.canMultiConn(), "qemu-nbd -r -e 8 advertises multi-conn");
            assertEquals(1, client.connectionCount());
            Set<String> expected = kind.equals("qcow2")
                    ? Set.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH)
                    : Set.of(MetaContexts.BASE_ALLOCATION);
            assertEquals(expected, client.metaContexts());
            assertInstanceOf(ConnectionState.Transmission.class, client.state());
        }
    }

    @Test
    void withoutMetaContextsNoneIsNegotiatedAndBlockStatusIsRefused() throws IOException {
        try (NbdClient client = NbdClient.connect(uri(qcow2), NbdClient.Options.defaults())) {
            assertEquals(Set.of(), client.metaContexts());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> client.blockStatus(0, SEED_SIZE, false));
            assertTrue(e.getMessage().contains("no metadata context"), e.getMessage());
        }
    }

    @Test
    void unknownContextIsSimplyAbsent() throws IOException {
        NbdClient.Options options = NbdClient.Options.defaults()
                .withMetaContexts(MetaContexts.BASE_ALLOCATION, "qemu:dirty-bitmap:nope");
        try (NbdClient client = NbdClient.connect(uri(qcow2), options)) {
            assertEquals(Set.of(MetaContexts.BASE_ALLOCATION), client.metaContexts());
        }
    }

    @Test
    void listMetaContexts() throws IOException {
        List<String> qemu = NbdClient.listMetaContexts(uri(qcow2), "qemu:");
        assertTrue(qemu.contains(MetaContexts.ALLOCATION_DEPTH), qemu.toString());
        assertFalse(qemu.contains(MetaContexts.BASE_ALLOCATION), qemu.toString());
        List<String> all = NbdClient.listMetaContexts(uri(qcow2), "");
        assertTrue(all.contains(MetaContexts.BASE_ALLOCATION), all.toString());
        assertTrue(all.contains(MetaContexts.ALLOCATION_DEPTH), all.toString());
        List<String> rawContexts = NbdClient.listMetaContexts(uri(raw), "");
        assertTrue(rawContexts.contains(MetaContexts.BASE_ALLOCATION), rawContexts.toString());
        assertFalse(rawContexts.contains(MetaContexts.ALLOCATION_DEPTH), rawContexts.toString());
    }

    @Test
    void unknownExportIsRefusedWithServerMessage() {
        NbdException e = assertThrows(NbdException.class,
                () -> NbdClient.connect(uri(qcow2, "no-such-export"), NbdClient.Options.defaults()));
        assertTrue(e.getMessage().contains("NBD_REP_ERR_UNKNOWN"), e.getMessage());
        assertTrue(e.getMessage().contains("no-such-export"), e.getMessage());
    }

    @Test
    void missingSocketGivesClearIOException() {
        NbdUri uri = NbdUri.unix(dir.resolve("nobody-listens.sock"), "");
        IOException e = assertThrows(IOException.class, () -> NbdClient.connect(uri, NbdClient.Options.defaults()));
        assertTrue(e.getMessage().contains("cannot connect to " + uri), e.getMessage());
    }

    @Test
    void connectionRefusedOverTcpGivesClearIOException() {
        NbdUri uri = NbdUri.parse("nbd://127.0.0.1:1/");
        IOException e = assertThrows(IOException.class, () -> NbdClient.connect(uri, NbdClient.Options.defaults()));
        assertTrue(e.getMessage().contains("cannot connect to nbd://127.0.0.1:1/"), e.getMessage());
        assertTrue(e.getMessage().contains("refused"), e.getMessage());
    }

    // ------------------------------------------------------------------ read

    @ParameterizedTest
    @ValueSource(strings = {"raw", "qcow2"})
    void readsSeedLayerIncludingHolesAndZeroCluster(String kind) throws IOException {
        try (NbdClient client = NbdClient.connect(uri(seed(kind)), NbdClient.Options.defaults())) {
            ByteBuffer all = ByteBuffer.allocateDirect(SEED_SIZE);
            // dirty the buffer so that zero-filling of holes is really checked
            for (int i = 0; i < SEED_SIZE; i++) {
                all.put(i, (byte) 0x55);
            }
            client.readFully(0, all);
            assertEquals(0, all.position(), "position untouched");
            assertArrayEquals(seedContent(), bytes(all));

            ByteBuffer heap = ByteBuffer.allocate(10 * K + 3);
            heap.position(3);
            client.readFully(60 * K, heap);
            byte[] expected = new byte[10 * K];
            System.arraycopy(seedContent(), 60 * K, expected, 0, expected.length);
            assertArrayEquals(expected, bytes(heap));
        }
    }

    @Test
    void readLargerThanServerMaximumIsSplit() throws Exception {
        try (NbdClient client = NbdClient.connect(uri(big), NbdClient.Options.defaults())) {
            assertEquals(BIG_SIZE, client.size());
            assertEquals(32 * MIB, client.blockSize().maximum());
            int length = 64 * MIB;
            long offset = 4 * MIB; // covers the hole [8 MiB, 16 MiB)
            ByteBuffer dst = ByteBuffer.allocateDirect(length);
            client.read(offset, dst).get();
            for (int i = 0; i < length; i++) {
                if (dst.get(i) != expectedBig(offset + i)) {
                    throw new AssertionError("mismatch at offset " + (offset + i));
                }
            }
        }
    }

    @Test
    void manyConcurrentReadsOverSeveralConnections() throws Exception {
        NbdClient.Options options = NbdClient.Options.defaults().withConnections(4).withMaxInFlight(8);
        try (NbdClient client = NbdClient.connect(uri(big), options)) {
            assertEquals(4, client.connectionCount());
            Random random = new Random(42);
            int count = 256;
            int length = 256 * K;
            long[] offsets = new long[count];
            ByteBuffer[] buffers = new ByteBuffer[count];
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                offsets[i] = (long) random.nextInt((int) ((BIG_SIZE - length) / 512)) * 512;
                buffers[i] = ByteBuffer.allocateDirect(length);
                futures.add(client.read(offsets[i], buffers[i]));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get();
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < length; j += 511) {
                    assertEquals(expectedBig(offsets[i] + j), buffers[i].get(j), "read " + i + " byte " + j);
                }
            }
        }
    }

    @Test
    void callbacksOnReaderThreadMayIssueRequestsWithoutDeadlock() throws Exception {
        NbdClient.Options options = NbdClient.Options.defaults().withMaxInFlight(1);
        try (NbdClient client = NbdClient.connect(uri(big), options)) {
            ByteBuffer first = ByteBuffer.allocate(4 * K);
            ByteBuffer second = ByteBuffer.allocate(4 * K);
            client.read(0, first).thenCompose(ignored -> client.read(4 * K, second)).get();
            assertEquals(expectedBig(4 * K), second.get(0));
        }
    }

    // ------------------------------------------------------------------ block status

    @Test
    void blockStatusOfQcow2LayerSplitsContextsAtDifferentOffsets() throws Exception {
        try (NbdClient client = NbdClient.connect(uri(qcow2), bothContexts())) {
            BlockStatus status = client.blockStatus(0, SEED_SIZE, false).get();
            assertEquals(0, status.offset());
            int holeZero = MetaContexts.STATE_HOLE | MetaContexts.STATE_ZERO;
            assertEquals(List.of(
                    new BlockStatusExtent(64 * K, holeZero),
                    new BlockStatusExtent(64 * K, 0),
                    new BlockStatusExtent(128 * K, holeZero)), status.extents(MetaContexts.BASE_ALLOCATION));
            assertEquals(List.of(
                    new BlockStatusExtent(64 * K, 0),
                    new BlockStatusExtent(128 * K, 1),
                    new BlockStatusExtent(64 * K, 0)), status.extents(MetaContexts.ALLOCATION_DEPTH));

            BlockStatus tail = client.blockStatus(96 * K, 64 * K, false).get();
            assertEquals(96 * K, tail.offset());
            assertEquals(new BlockStatusExtent(32 * K, 0), tail.extents(MetaContexts.BASE_ALLOCATION).get(0));
            assertEquals(new BlockStatusExtent(32 * K, holeZero), tail.extents(MetaContexts.BASE_ALLOCATION).get(1));
            assertEquals(64 * K, tail.length(MetaContexts.ALLOCATION_DEPTH));
        }
    }

    @Test
    void blockStatusOfRawFile() throws Exception {
        try (NbdClient client = NbdClient.connect(uri(raw), bothContexts())) {
            BlockStatus status = client.blockStatus(0, SEED_SIZE, false).get();
            assertEquals(Set.of(MetaContexts.BASE_ALLOCATION), status.contexts());
            List<BlockStatusExtent> extents = status.extents(MetaContexts.BASE_ALLOCATION);
            assertEquals(SEED_SIZE, status.length(MetaContexts.BASE_ALLOCATION));
            long offset = 0;
            for (BlockStatusExtent extent : extents) {
                boolean data = offset < 128 * K && offset + extent.length() > 64 * K;
                // Host hole detection depends on the file system; the data must never be reported as zero.
                if (data) {
                    assertEquals(0, extent.flags() & MetaContexts.STATE_ZERO, "data at " + offset);
                }
                offset += extent.length();
            }
        }
    }

    @Test
    void blockStatusWithReqOneReturnsOneExtentPerContext() throws Exception {
        try (NbdClient client = NbdClient.connect(uri(qcow2), bothContexts())) {
            BlockStatus status = client.blockStatus(64 * K, 192 * K, true).get();
            assertEquals(List.of(new BlockStatusExtent(64 * K, 0)), status.extents(MetaContexts.BASE_ALLOCATION));
            assertEquals(List.of(new BlockStatusExtent(128 * K, 1)), status.extents(MetaContexts.ALLOCATION_DEPTH));
        }
    }

    // ------------------------------------------------------------------ writes

    @Test
    void writeZeroesTrimFlushAndReadBack() throws Exception {
        try (NbdClient client = NbdClient.connect(uri(scratch), NbdClient.Options.defaults())) {
            assertFalse(client.readOnly());
            assertTrue(client.canFlush() && client.canTrim() && client.canWriteZeroes());
            int length = MIB;
            ByteBuffer data = ByteBuffer.allocateDirect(length);
            for (int i = 0; i < length; i++) {
                data.put(i, pattern(i));
            }
            client.write(0, data, client.canFua()).get();
            assertEquals(0, data.position());
            client.writeZeroes(128 * K, 64 * K, false, false).get();
            client.writeZeroes(256 * K, 64 * K, true, false).get();
            if (client.canFastZero()) {
                client.writeZeroes(320 * K, 64 * K, false, true).get();
            } else {
                assertThrows(UnsupportedOperationException.class, () -> client.writeZeroes(320 * K, 64 * K, false, true));
            }
            client.trim(512 * K, 64 * K).get();
            client.flush().get();

            ByteBuffer back = ByteBuffer.allocateDirect(length);
            client.readFully(0, back);
            for (int i = 0; i < length; i++) {
                boolean zeroed = (i >= 128 * K && i < 192 * K) || (i >= 256 * K && i < 320 * K)
                        || (client.canFastZero() && i >= 320 * K && i < 384 * K) || (i >= 512 * K && i < 576 * K);
                byte expected = zeroed ? 0 : pattern(i);
                if (back.get(i) != expected) {
                    throw new AssertionError("mismatch at " + i + ": " + back.get(i) + " != " + expected);
                }
            }
        }
    }

    @Test
    void writesToReadOnlyExportAreRefusedClientSide() throws IOException {
        try (NbdClient client = NbdClient.connect(uri(raw), NbdClient.Options.defaults())) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> client.write(0, ByteBuffer.allocate(512), false));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> client.trim(0, 512));
        }
    }

    @Test
    void smallServerMaximumSplitsWritesAndReads() throws Exception {
        try (NbdClient client = NbdClient.connect(uri(smallMax), NbdClient.Options.defaults())) {
            assertEquals(new BlockSize(512, 4096, 64 * K), client.blockSize());
            int length = MIB + 512;
            ByteBuffer data = ByteBuffer.allocate(length);
            for (int i = 0; i < length; i++) {
                data.put(i, pattern(i + 7));
            }
            client.write(512, data, false).get();
            ByteBuffer back = ByteBuffer.allocate(length);
            client.read(512, back).get();
            assertArrayEquals(data.array(), back.array());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> client.read(100, ByteBuffer.allocate(512)));
            assertTrue(e.getMessage().contains("minimum block size 512"), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ errors and state

    @Test
    void serverErrorFailsOneRequestAndConnectionStaysUsable() throws Exception {
        Files.writeString(failReads, "x");
        try (NbdClient client = NbdClient.connect(uri(failing), NbdClient.Options.defaults())) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> client.read(0, ByteBuffer.allocate(4 * K)).get());
            NbdRequestException request = assertInstanceOf(NbdRequestException.class, e.getCause());
            assertEquals(NbdConstants.NBD_EIO, request.error());
            assertEquals("EIO", request.errorName());
            assertTrue(request.getMessage().contains("NBD_CMD_READ offset=0 length=4096"), request.getMessage());

            Files.delete(failReads);
            ByteBuffer ok = ByteBuffer.allocate(4 * K);
            ok.put(0, (byte) 1);
            client.readFully(0, ok);
            assertEquals(0, ok.get(0));
            assertInstanceOf(ConnectionState.Transmission.class, client.state());
        }
    }

    @Test
    void closedClientRefusesRequestsAndCloseIsIdempotent() throws IOException {
        NbdClient client = NbdClient.connect(uri(qcow2), NbdClient.Options.defaults().withConnections(2));
        assertEquals(2, client.connectionCount());
        client.close();
        client.close();
        assertInstanceOf(ConnectionState.Closed.class, client.state());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> client.read(0, ByteBuffer.allocate(512)));
        assertTrue(e.getMessage().contains("cannot read: NBD connection is Closed"), e.getMessage());
    }

    @Test
    void closeWaitsForInFlightRequests() throws Exception {
        NbdClient client = NbdClient.connect(uri(big), NbdClient.Options.defaults());
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(MIB);
            buffers.add(buffer);
            futures.add(client.read((long) i * MIB, buffer));
        }
        client.close();
        for (int i = 0; i < 8; i++) {
            assertNotNull(futures.get(i).getNow(null) == null ? "done" : null);
            assertTrue(futures.get(i).isDone() && !futures.get(i).isCompletedExceptionally(), "read " + i);
            assertEquals(expectedBig((long) i * MIB + 100), buffers.get(i).get(100));
        }
    }
}
