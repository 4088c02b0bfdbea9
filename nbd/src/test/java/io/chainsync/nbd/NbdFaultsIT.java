package io.chainsync.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.protocol.NbdConnectionLostException;
import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdTimeoutException;
import io.chainsync.testkit.NbdkitServer;
import io.chainsync.testkit.QemuNbdServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults under which the client must neither hang nor lose track: a server that stops answering (request
 * deadline), one that stalls the handshake (connect timeout), one that dies (connection lost), and the
 * calls made on a client that failed (they fail at once).
 */
class NbdFaultsIT {

    private static final Duration DEADLINE = Duration.ofSeconds(1);

    @TempDir
    Path tmp;

    @Test
    @Timeout(30)
    void requestsToASilentServerFailAtTheirDeadline() throws Exception {
        try (FakeNbdServer server = FakeNbdServer.start(tmp.resolve("silent.sock"), c -> {
                    FakeNbdServer.negotiate(c);
                    FakeNbdServer.drainUntilClosed(c); // reads every request, answers none
                });
                NbdClient client = NbdClient.connect(server.uri(),
                        NbdClient.Options.defaults().withRequestTimeout(DEADLINE))) {
            long start = System.nanoTime();
            List<CompletableFuture<Void>> reads = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                reads.add(client.read(i * 4096L, ByteBuffer.allocateDirect(4096)));
            }
            ExecutionException e = assertThrows(ExecutionException.class, () -> reads.get(0).get());
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            NbdTimeoutException timeout = assertInstanceOf(NbdTimeoutException.class, e.getCause());
            assertTrue(elapsed >= DEADLINE.toMillis() - 50 && elapsed < 5_000, "failed after " + elapsed + " ms");
            String message = timeout.getMessage();
            for (String part : List.of(server.uri().toString(), "NBD_CMD_READ", "offset=0", "length=4096", "1 s")) {
                assertTrue(message.contains(part), "'" + part + "' missing in: " + message);
            }
            assertEquals(DEADLINE, timeout.timeout());
            assertTrue(NbdErrors.isTransient(timeout));
            // the connection is broken: the other requests in flight fail with it
            for (CompletableFuture<Void> other : reads.subList(1, reads.size())) {
                ExecutionException o = assertThrows(ExecutionException.class, () -> other.get(5, TimeUnit.SECONDS));
                assertSame(timeout, o.getCause());
            }
            assertFailsFast(client, timeout);
        }
    }

    @Test
    @Timeout(30)
    void aRealServerThatStallsAReadTimesOut() throws Exception {
        try (NbdkitServer nbdkit = NbdkitServer.builder("memory").param("size", "1M").filter("delay")
                .param("delay-read", "30").start(tmp);
                NbdClient client = NbdClient.connect(NbdUri.parse(nbdkit.uri()),
                        NbdClient.Options.defaults().withRequestTimeout(DEADLINE))) {
            long start = System.nanoTime();
            NbdTimeoutException e = assertThrows(NbdTimeoutException.class,
                    () -> client.readFully(65536, ByteBuffer.allocateDirect(512)));
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(elapsed >= DEADLINE.toMillis() - 50 && elapsed < 10_000, "failed after " + elapsed + " ms");
            assertTrue(e.getMessage().contains("NBD_CMD_READ offset=65536 length=512"), e.getMessage());
            assertFailsFast(client, e);
        }
    }

    @Test
    @Timeout(30)
    void aServerThatNeverGreetsHitsTheConnectTimeout() throws Exception {
        NbdTimeoutException e = assertConnectTimesOut(FakeNbdServer::drainUntilClosed);
        assertTrue(e.getMessage().contains("accepted the connection but sent no NBD greeting"), e.getMessage());
    }

    /**
     * qemu-nbd without {@code --shared} serves one client: a second one connects (the kernel accepts
     * it) but is never greeted. The timeout says so, rather than only that connecting took too long.
     */
    @Test
    @Timeout(60)
    void aRealServerAtItsClientLimitIsNamedAsSuch() throws Exception {
        Path image = tmp.resolve("one.raw");
        Files.write(image, new byte[1 << 20]);
        try (QemuNbdServer qemu = QemuNbdServer.builder(image.toString(), "raw").shared(1).start(tmp);
                NbdClient first = NbdClient.connect(NbdUri.parse(qemu.uri()), NbdClient.Options.defaults())) {
            first.readFully(0, ByteBuffer.allocate(512)); // the server's one client is served
            NbdTimeoutException e = assertThrows(NbdTimeoutException.class, () -> NbdClient.connect(
                    NbdUri.parse(qemu.uri()), NbdClient.Options.defaults().withConnectTimeout(DEADLINE)).close());
            assertTrue(e.getMessage().contains("sent no NBD greeting"), e.getMessage());
            assertTrue(e.getMessage().contains("--shared"), e.getMessage());
        }
    }

    @Test
    @Timeout(30)
    void aServerThatStallsInTheHandshakeHitsTheConnectTimeout() throws Exception {
        NbdTimeoutException e = assertConnectTimesOut(c -> {
            FakeNbdServer.write(c, ByteBuffer.allocate(18).putLong(NbdConstants.NBDMAGIC)
                    .putLong(NbdConstants.IHAVEOPT)
                    .putShort((short) NbdConstants.NBD_FLAG_FIXED_NEWSTYLE));
            FakeNbdServer.drainUntilClosed(c); // takes the options, never answers them
        });
        assertTrue(e.getMessage().contains("and negotiating did not finish"), e.getMessage());
    }

    private NbdTimeoutException assertConnectTimesOut(FakeNbdServer.Script script) throws Exception {
        try (FakeNbdServer server = FakeNbdServer.start(tmp.resolve("stall.sock"), script)) {
            long start = System.nanoTime();
            NbdTimeoutException e = assertThrows(NbdTimeoutException.class, () -> NbdClient.connect(server.uri(),
                    NbdClient.Options.defaults().withConnectTimeout(DEADLINE)).close());
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(elapsed >= DEADLINE.toMillis() - 50 && elapsed < 5_000, "failed after " + elapsed + " ms");
            assertTrue(e.getMessage().contains(server.uri().toString()), e.getMessage());
            assertTrue(e.getMessage().contains("connect timeout of 1 s"), e.getMessage());
            assertTrue(NbdErrors.isTransient(e));
            return e;
        }
    }

    @Test
    @Timeout(60)
    void aKilledServerFailsTheClientAndLaterCallsFailFast() throws Exception {
        Path image = tmp.resolve("data.raw");
        byte[] data = new byte[1 << 20];
        new Random(7).nextBytes(data);
        Files.write(image, data);
        QemuNbdServer qemu = QemuNbdServer.serveRaw(image, tmp);
        try (NbdClient client = NbdClient.connect(NbdUri.parse(qemu.uri()), NbdClient.Options.defaults())) {
            ByteBuffer first = ByteBuffer.allocate(4096);
            client.readFully(0, first);
            assertArrayEquals(java.util.Arrays.copyOf(data, 4096), first.array());
            qemu.close(); // SIGTERM: qemu-nbd exits and the socket closes under the client
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            IOException lost = null;
            while (lost == null) {
                // the first reads may race with the EOF; once the reader has seen it, the client is Failed
                try {
                    client.readFully(4096, ByteBuffer.allocate(4096));
                } catch (IllegalStateException e) {
                    lost = assertInstanceOf(IOException.class, e.getCause());
                } catch (IOException e) {
                    lost = e;
                }
                assertTrue(System.nanoTime() < deadline, "client still usable 10 s after its server died");
            }
            assertInstanceOf(NbdConnectionLostException.class, lost, String.valueOf(lost));
            assertTrue(NbdErrors.isTransient(lost));
            assertInstanceOf(ConnectionState.Failed.class, client.state());
            assertFailsFast(client, lost);
        } finally {
            qemu.close();
        }
    }

    /** Every command on a failed client throws at once, with the failure as the cause. */
    private static void assertFailsFast(NbdClient client, IOException failure) {
        ConnectionState.Failed failed = assertInstanceOf(ConnectionState.Failed.class, client.state());
        assertSame(failure, failed.cause());
        List<Executable> calls = List.of(
                () -> client.read(0, ByteBuffer.allocate(512)),
                () -> client.readFully(0, ByteBuffer.allocate(512)),
                () -> client.blockStatus(0, 512, false),
                () -> client.flush());
        for (Executable call : calls) {
            long start = System.nanoTime();
            IllegalStateException e = assertThrows(IllegalStateException.class, call);
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(elapsed < 500, "took " + elapsed + " ms to refuse");
            assertTrue(e.getMessage().contains("Failed"), e.getMessage());
            assertSame(failure, e.getCause());
            assertTrue(NbdErrors.isTransient(e), "a lost connection or deadline is worth a new client: " + e);
        }
    }
}
