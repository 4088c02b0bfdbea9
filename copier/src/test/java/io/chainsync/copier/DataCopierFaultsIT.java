package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterRun;
import io.chainsync.nbd.ConnectionState;
import io.chainsync.nbd.NbdClient;
import io.chainsync.nbd.NbdErrors;
import io.chainsync.nbd.NbdUri;
import io.chainsync.nbd.protocol.NbdConnectionLostException;
import io.chainsync.nbd.protocol.NbdTimeoutException;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.NbdkitServer;
import io.chainsync.testkit.QemuNbdServer;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DataCopier} under faults of the source, the target, the writers and the copying thread: the
 * copy fails promptly with the cause, every buffer is back in the pool, and the copier goes on to copy
 * correctly once the fault is gone.
 */
class DataCopierFaultsIT {

    private static final int CLUSTER_BITS = 16;
    private static final int MIB = 1 << 20;
    private static final int SIZE = 32 * MIB;
    private static final int BUFFERS = 8;
    /** Two DATA runs around a gap the copier must skip. */
    private static final List<ClusterRun> RUNS = List.of(
            new ClusterRun(0, 160, ClusterKind.DATA, 0),
            new ClusterRun(160, 32, ClusterKind.ZERO, -1),
            new ClusterRun(192, 320, ClusterKind.DATA, 160));

    @TempDir
    Path tmp;

    private Path source;
    private byte[] data;
    private ExecutorService writers;
    private DataCopier copier;

    @BeforeEach
    void setUp() throws IOException {
        data = new byte[SIZE];
        new Random(42).nextBytes(data);
        source = tmp.resolve("source.raw");
        Files.write(source, data);
        writers = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "test-writer");
            t.setDaemon(true);
            return t;
        });
        copier = new DataCopier(MIB, BUFFERS, writers);
    }

    @AfterEach
    void tearDown() {
        writers.shutdownNow();
    }

    @Test
    @Timeout(120)
    void serverKilledMidCopyFailsTheCopyPromptlyAndKeepsEveryBuffer() throws Exception {
        AtomicLong killedAt = new AtomicLong();
        AtomicLong written = new AtomicLong();
        QemuNbdServer server = QemuNbdServer.serveRaw(source, tmp);
        try (NbdClient client = connect(server, NbdClient.Options.defaults().withConnections(2));
             FileTarget target = new FileTarget(tmp.resolve("first.raw"), 20)) {
            IOException e = assertThrows(IOException.class, () -> copier.copy(client, RUNS, CLUSTER_BITS, SIZE,
                    target, n -> {
                        if (written.addAndGet(n) == 4L * MIB) {
                            killedAt.set(System.nanoTime());
                            ProcessHandle.of(server.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL
                        }
                    }));
            long afterKill = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt.get());
            assertTrue(killedAt.get() != 0, "the server was not killed: " + e);
            assertTrue(afterKill < 10_000, "copy failed " + afterKill + " ms after the server died");
            assertInstanceOf(NbdConnectionLostException.class, e, String.valueOf(e));
            assertTrue(NbdErrors.isTransient(e), String.valueOf(e));
            assertTrue(written.get() < 30L * MIB, "the copy was not cut short: " + written.get());
            assertEquals(BUFFERS, copier.availableBuffers());
            assertInstanceOf(ConnectionState.Failed.class, client.state());
        } finally {
            server.close();
        }
        // the same copier, a restarted server and a fresh client: the whole copy succeeds
        try (QemuNbdServer restarted = QemuNbdServer.serveRaw(source, tmp);
             NbdClient client = connect(restarted, NbdClient.Options.defaults().withConnections(2));
             FileTarget target = new FileTarget(tmp.resolve("second.raw"), 0)) {
            copyAndVerify(client, target);
        }
    }

    @Test
    @Timeout(60)
    void aClientThatFailedBeforeTheCopyFailsItAtOnce() throws Exception {
        QemuNbdServer server = QemuNbdServer.serveRaw(source, tmp);
        try (NbdClient client = connect(server, NbdClient.Options.defaults());
             FileTarget target = new FileTarget(tmp.resolve("target.raw"), 0)) {
            server.close();
            // until the reader has seen the EOF the client may still take a request, which then fails
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!(client.state() instanceof ConnectionState.Failed)) {
                try {
                    client.readFully(0, ByteBuffer.allocate(512));
                } catch (IOException | IllegalStateException expected) {
                    // the connection is lost
                }
                assertTrue(System.nanoTime() < deadline, "client not failed 10 s after its server died");
            }
            long start = System.nanoTime();
            IOException e = assertThrows(IOException.class,
                    () -> copier.copy(client, RUNS, CLUSTER_BITS, SIZE, target, n -> { }));
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(elapsed < 2_000, "took " + elapsed + " ms");
            assertSame(((ConnectionState.Failed) client.state()).cause(), e);
            assertTrue(NbdErrors.isTransient(e));
            assertEquals(BUFFERS, copier.availableBuffers());
            assertEquals(0, target.writes.get());
        } finally {
            server.close();
        }
    }

    @Test
    @Timeout(60)
    void aClosedClientFailsTheCopyAtOnce() throws Exception {
        try (QemuNbdServer server = QemuNbdServer.serveRaw(source, tmp);
             FileTarget target = new FileTarget(tmp.resolve("target.raw"), 0)) {
            NbdClient client = connect(server, NbdClient.Options.defaults());
            client.close();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> copier.copy(client, RUNS, CLUSTER_BITS, SIZE, target, n -> { }));
            assertTrue(e.getMessage().contains("Closed"), e.getMessage());
            assertEquals(BUFFERS, copier.availableBuffers());
        }
    }

    @Test
    @Timeout(60)
    void aServerThatStopsAnsweringFailsTheCopyAtTheDeadline() throws Exception {
        try (NbdkitServer server = NbdkitServer.builder("file").param("file", source.toString()).readOnly(true)
                .filter("delay").param("delay-read", "30").start(tmp);
             NbdClient client = connect(server, NbdClient.Options.defaults().withRequestTimeout(Duration.ofSeconds(1)));
             FileTarget target = new FileTarget(tmp.resolve("target.raw"), 0)) {
            long start = System.nanoTime();
            NbdTimeoutException e = assertThrows(NbdTimeoutException.class,
                    () -> copier.copy(client, RUNS, CLUSTER_BITS, SIZE, target, n -> { }));
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(elapsed >= 900 && elapsed < 10_000, "failed after " + elapsed + " ms");
            assertTrue(e.getMessage().contains("NBD_CMD_READ"), e.getMessage());
            assertEquals(BUFFERS, copier.availableBuffers());
            assertEquals(0, target.writes.get());
        }
    }

    @Test
    @Timeout(60)
    void aFailingWriteFailsTheCopyAndTheCopierStaysUsable() throws Exception {
        IOException diskFull = new IOException("No space left on device");
        try (QemuNbdServer server = QemuNbdServer.serveRaw(source, tmp);
             NbdClient client = connect(server, NbdClient.Options.defaults());
             FileTarget target = new FileTarget(tmp.resolve("target.raw"), 0)) {
            target.failAt(3, diskFull);
            IOException e = assertThrows(IOException.class,
                    () -> copier.copy(client, RUNS, CLUSTER_BITS, SIZE, target, n -> { }));
            assertSame(diskFull, e);
            assertEquals(BUFFERS, copier.availableBuffers());
            assertTrue(target.writes.get() < RUNS.size() * 10, "writes went on after the failure");
            target.failAt(-1, null);
            copyAndVerify(client, target);
        }
    }

    @Test
    @Timeout(60)
    void writersThatRejectFailTheCopy() throws Exception {
        DataCopier rejecting = new DataCopier(MIB, BUFFERS, task -> {
            throw new RejectedExecutionException("writers shut down");
        });
        try (QemuNbdServer server = QemuNbdServer.serveRaw(source, tmp);
             NbdClient client = connect(server, NbdClient.Options.defaults());
             FileTarget target = new FileTarget(tmp.resolve("target.raw"), 0)) {
            assertThrows(RejectedExecutionException.class,
                    () -> rejecting.copy(client, RUNS, CLUSTER_BITS, SIZE, target, n -> { }));
            assertEquals(BUFFERS, rejecting.availableBuffers());
            assertInstanceOf(ConnectionState.Transmission.class, client.state());
        }
    }

    @Test
    @Timeout(60)
    void anInterruptedCopyWaitsForItsPiecesThenFails() throws Exception {
        try (QemuNbdServer server = QemuNbdServer.serveRaw(source, tmp);
             NbdClient client = connect(server, NbdClient.Options.defaults());
             FileTarget target = new FileTarget(tmp.resolve("target.raw"), 0)) {
            CountDownLatch release = new CountDownLatch(1);
            target.blockOn(release);
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            AtomicBoolean interruptedAfter = new AtomicBoolean();
            Thread copying = new Thread(() -> {
                try {
                    copier.copy(client, RUNS, CLUSTER_BITS, SIZE, target, n -> { });
                } catch (Throwable t) {
                    outcome.set(t);
                }
                interruptedAfter.set(Thread.currentThread().isInterrupted());
            }, "copying");
            copying.start();
            // every buffer is in flight, at least one piece is held in its write (a piece still
            // reading when the copy fails returns its buffer at once), and the copying thread waits
            while (copier.availableBuffers() > 0 || copying.getState() != Thread.State.WAITING
                    || target.writes.get() == 0) {
                Thread.sleep(10);
            }
            copying.interrupt();
            copying.join(300);
            assertTrue(copying.isAlive(), "the copy returned while its pieces were still being written");
            release.countDown();
            copying.join(10_000);
            assertTrue(!copying.isAlive(), "the copy did not end");
            assertInstanceOf(InterruptedIOException.class, outcome.get(), String.valueOf(outcome.get()));
            assertTrue(interruptedAfter.get(), "the interrupt status was swallowed");
            assertEquals(BUFFERS, copier.availableBuffers());
            assertInstanceOf(ConnectionState.Transmission.class, client.state());
        }
    }

    @Test
    @Timeout(60)
    void copiesSharingACopierEachGetTheirOwnBytesAndTheirOwnFailure() throws Exception {
        IOException diskFull = new IOException("No space left on device");
        try (QemuNbdServer server = QemuNbdServer.serveRaw(source, tmp);
             NbdClient client = connect(server, NbdClient.Options.defaults().withConnections(2));
             FileTarget failing = new FileTarget(tmp.resolve("failing.raw"), 5);
             FileTarget a = new FileTarget(tmp.resolve("a.raw"), 1);
             FileTarget b = new FileTarget(tmp.resolve("b.raw"), 0)) {
            FileTarget[] targets = {a, b};
            failing.failAt(6, diskFull);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            AtomicLong[] progress = {new AtomicLong(), new AtomicLong()};
            List<Thread> threads = new java.util.ArrayList<>();
            threads.add(new Thread(() -> {
                try {
                    copier.copy(client, RUNS, CLUSTER_BITS, SIZE, failing, n -> { });
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "copy-failing"));
            for (int i = 0; i < targets.length; i++) {
                FileTarget target = targets[i];
                AtomicLong done = progress[i];
                threads.add(new Thread(() -> {
                    try {
                        copier.copy(client, RUNS, CLUSTER_BITS, SIZE, target, done::addAndGet);
                        // returned: every piece of this copy is written, whatever the others still do
                        assertEquals(dataBytes(), done.get());
                        assertSourceBytes(target);
                    } catch (Throwable t) {
                        unexpected.compareAndSet(null, t);
                    }
                }, "copy-" + i));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join(30_000);
                assertTrue(!t.isAlive(), t.getName() + " did not end");
            }
            assertSame(diskFull, failed.get(), String.valueOf(failed.get()));
            if (unexpected.get() != null) {
                throw new AssertionError("a copy sharing the copier with a failing one failed", unexpected.get());
            }
            assertEquals(BUFFERS, copier.availableBuffers());
        }
    }

    private static long dataBytes() {
        long bytes = 0;
        for (ClusterRun run : RUNS) {
            if (run.kind() == ClusterKind.DATA) {
                bytes += run.count() << CLUSTER_BITS;
            }
        }
        return bytes;
    }

    /** The target holds the source's bytes in every DATA run. */
    private void assertSourceBytes(FileTarget target) throws IOException {
        byte[] copied = Files.readAllBytes(target.path);
        for (ClusterRun run : RUNS) {
            if (run.kind() == ClusterKind.DATA) {
                int from = (int) (run.firstCluster() << CLUSTER_BITS);
                int to = (int) (run.endCluster() << CLUSTER_BITS);
                assertArrayEquals(Arrays.copyOfRange(data, from, to), Arrays.copyOfRange(copied, from, to),
                        "run " + run + " of " + target.path.getFileName());
            }
        }
    }

    private static NbdClient connect(NbdServer server, NbdClient.Options options) throws IOException {
        return NbdClient.connect(NbdUri.parse(server.uri()), options);
    }

    /** Copies every run and checks the target holds the source's bytes in them. */
    private void copyAndVerify(NbdClient client, FileTarget target) throws IOException {
        AtomicLong progress = new AtomicLong();
        copier.copy(client, RUNS, CLUSTER_BITS, SIZE, target, progress::addAndGet);
        assertEquals(dataBytes(), progress.get());
        assertEquals(BUFFERS, copier.availableBuffers());
        assertSourceBytes(target);
    }

    /** A raw file target (host offset = guest offset) with optional delay, failure and blocking. */
    private static final class FileTarget implements DataTarget, AutoCloseable {
        final Path path;
        final AtomicInteger writes = new AtomicInteger();
        private final FileChannel channel;
        private final long delayMillis;
        private volatile int failAt = -1;
        private volatile IOException failure;
        private volatile CountDownLatch gate;

        FileTarget(Path path, long delayMillis) throws IOException {
            this.path = path;
            this.delayMillis = delayMillis;
            this.channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        }

        void failAt(int write, IOException e) {
            failure = e;
            failAt = write;
        }

        void blockOn(CountDownLatch latch) {
            gate = latch;
        }

        @Override
        public long hostOffset(ClusterRun run) {
            return DataTarget.hostOffset(true, CLUSTER_BITS, run);
        }

        @Override
        public void write(long hostOffset, ByteBuffer src) throws IOException {
            int n = writes.incrementAndGet();
            if (n == failAt) {
                throw failure;
            }
            try {
                if (gate != null) {
                    gate.await();
                }
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException();
            }
            long pos = hostOffset;
            while (src.hasRemaining()) {
                pos += channel.write(src, pos);
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
