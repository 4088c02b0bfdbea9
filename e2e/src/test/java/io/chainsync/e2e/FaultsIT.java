package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerStatus;
import io.chainsync.avro.LayerSource;
import io.chainsync.jobs.ChainCopier;
import io.chainsync.jobs.CopyOptions;
import io.chainsync.jobs.CopyProgress;
import io.chainsync.jobs.Jobs;
import io.chainsync.jobs.LayerCopyException;
import io.chainsync.jobs.StatusReader;
import io.chainsync.kafka.DeadLetters;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.testkit.Captured;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.NbdkitServer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults against the real broker, registry and qemu-nbd/nbdkit (docs/design.md §3, "Faults"):
 * unreadable records, idle lag, a source restarted mid-copy or left down, injected EIO; job
 * control (a failed job retried, a job cancelled mid-copy, retry and cancel refused). Each
 * fault is shown to have happened mid-work (dead letters counted, retries counted, the server
 * killed while the copy is throttled) and every job that completes is judged exact.
 */
@Timeout(300)
class FaultsIT {

    @RegisterExtension
    static final PipelineStack e2e = PipelineStack.perClass();

    @TempDir
    Path tmp;

    @Test
    void unreadableRecordsGoToTheDeadLetterTopicAndTheNextJobCompletes() throws Exception {
        long before = deadLetters(PipelineTopics.JOBS) + deadLetters(PipelineTopics.PLANS);
        byte[] id = schemaIdOf(e2e.topics().jobs().valueSerde().serializer().serialize(PipelineTopics.JOBS,
                PipelineStack.job("probe", List.of(new LayerSource("a.raw", "nbd://localhost/x")), "probe")));
        List<byte[]> poison = List.of(
                new byte[] {1, 2, 3, 4},                                    // garbage
                concat(new byte[] {0, 0x7f, (byte) 0xff, (byte) 0xff, 0x70}, new byte[] {2, 'x'}), // unknown id
                concat(new byte[] {0}, id, avroString("j"), varint(zigzag(2_000_000_000L))));    // 2e9 items
        try (KafkaProducer<byte[], byte[]> producer = rawProducer()) {
            for (byte[] value : poison) {
                producer.send(new ProducerRecord<>(PipelineTopics.JOBS, value, value)).get();
                producer.send(new ProducerRecord<>(PipelineTopics.PLANS, value, value)).get();
            }
        }
        // every unreadable record reaches the dead-letter topic: from the scanner and the planner
        // (chainsync.jobs) and from the copier group (chainsync.plans)
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (deadLetters(PipelineTopics.JOBS) + deadLetters(PipelineTopics.PLANS) < before + 9
                && System.nanoTime() < deadline) {
            Thread.sleep(500);
        }
        assertTrue(deadLetters(PipelineTopics.PLANS) >= 3, "plans dead letters: " + deadLetters(PipelineTopics.PLANS));
        assertTrue(deadLetters(PipelineTopics.JOBS) >= 6, "jobs dead letters: " + deadLetters(PipelineTopics.JOBS));
        assertTrue(e2e.pipeline().healthy(), "a service stopped on an unreadable record");

        Chain chain = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        assertEquals(JobState.COMPLETE, e2e.run(chain, "after-poison", tmp.resolve("s")).getState());
        ChainJudge.assertExact(chain, e2e.destRoot().resolve("after-poison"));
        assertTrue(e2e.pipeline().healthy());
    }

    @Test
    void idleLagIsZeroAfterAJob() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        assertEquals(JobState.COMPLETE, e2e.run(chain, "lag", tmp.resolve("s")).getState());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        StatusReader.Lag lag = StatusReader.copierLag(e2e.config(), e2e.topics());
        while (lag.pending() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(500);
            lag = StatusReader.copierLag(e2e.config(), e2e.topics());
        }
        assertEquals(0, lag.pending(), "copier lag " + lag + " (transaction markers counted as pending?)");
        assertTrue(lag.end() > 0, "the plans topic received nothing: " + lag);
    }

    /** A layer served throttled, so the copy takes seconds and the kill lands mid-copy. */
    private static QemuNbdServer throttled(io.chainsync.testkit.Layer layer, Path sockDir) {
        return QemuNbdServer.serveThrottled(layer, sockDir, 12 << 20);
    }

    @Test
    void aSourceRestartedMidCopyIsRiddenOutByThePipeline() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        long retriedBefore = e2e.pipeline().retried();
        QemuNbdServer server = throttled(chain.bottom(), sockets);
        NbdServer restarted = null;
        try {
            String job = UUID.randomUUID().toString();
            e2e.produce(PipelineStack.job(job, List.of(new LayerSource("base.raw", server.uri())), "restart"));
            Thread.sleep(2_000); // scanned, copying (40 MiB at 12 MiB/s)
            server.close();
            Thread.sleep(2_000);
            restarted = NbdServer.restart(server);
            JobStatus status = e2e.await(job);
            assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
            ChainJudge.assertExact(chain, e2e.destRoot().resolve("restart"));
            assertTrue(e2e.pipeline().retried() > retriedBefore, "no task was retried: the kill missed the copy");
        } finally {
            server.close();
            if (restarted != null) {
                restarted.close();
            }
        }
    }

    @Test
    void aSourceLeftDownFailsTheJobNamingTheLayerAndTheSource() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        QemuNbdServer server = throttled(chain.bottom(), sockets);
        try {
            String job = UUID.randomUUID().toString();
            e2e.produce(PipelineStack.job(job, List.of(new LayerSource("base.raw", server.uri())), "down"));
            Thread.sleep(2_000);
            server.close();
            JobStatus status = e2e.await(job);
            assertEquals(JobState.FAILED, status.getState(), String.valueOf(status));
            String error = String.valueOf(status.getError());
            assertTrue(error.contains("layer base.raw") && error.contains(server.socket().toString())
                    && error.contains("attempts"), error);
            try (var files = Files.list(e2e.destRoot().resolve("down"))) {
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                List<String> left = files.map(p -> p.getFileName().toString()).toList();
                while (!left.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(500);
                    try (var again = Files.list(e2e.destRoot().resolve("down"))) {
                        left = again.map(p -> p.getFileName().toString()).toList();
                    }
                }
                assertEquals(List.of(), left, "temporary files of the failed job are left behind");
            }
        } finally {
            server.close();
        }
    }

    @Test
    void injectedEioIsRetriedAndTheCopyIsExact() throws Exception {
        Chain chain = ChainBuilder.in(tmp.resolve("src")).size(48L << 20).clusterSize(65536).base("base.raw")
                .io("write -P 0x61 0 20M", "write -P 0x62 24M 24M").build();
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        long retriedBefore = e2e.pipeline().retried();
        // nbdkit's error filter fails half of the reads with EIO while the trigger file exists
        Path trigger = Files.createFile(tmp.resolve("eio-on"));
        try (NbdkitServer server = NbdkitServer.builder("file")
                .param("file", chain.bottom().path().toAbsolutePath().toString()).readOnly(true).filter("error")
                .param("error-pread", "EIO").param("error-pread-rate", "50%")
                .param("error-pread-file", trigger.toString()).start(sockets)) {
            String job = UUID.randomUUID().toString();
            e2e.produce(PipelineStack.job(job, List.of(new LayerSource("base.raw", server.uri())), "eio"));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (e2e.pipeline().retried() == retriedBefore && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(e2e.pipeline().retried() > retriedBefore, "no EIO reached a copy task");
            Thread.sleep(500); // a few more failures, then the source heals
            Files.delete(trigger);
            JobStatus status = e2e.await(job);
            assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
            ChainJudge.assertExact(chain, e2e.destRoot().resolve("eio"));
        }
    }

    @Test
    void copyRidesOutASourceRestartedMidCopy() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        QemuNbdServer server = throttled(chain.bottom(), sockets);
        NbdServer[] restarted = new NbdServer[1];
        Thread restarter = new Thread(() -> {
            try {
                Thread.sleep(1_500);
                server.close();
                Thread.sleep(2_000);
                restarted[0] = NbdServer.restart(server);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            restarter.start();
            ChainCopier copier = new ChainCopier(tmp.resolve("dest"), CopyOptions.defaults(), CopyProgress.NONE);
            copier.copy(List.of(LayerSpec.of("base.raw", server.uri())));
            restarter.join();
            ChainJudge.assertExact(chain, tmp.resolve("dest"));
            assertTrue(copier.retries() > 0, "the layer was not copied again: the kill missed the copy");
        } finally {
            restarter.join();
            server.close();
            if (restarted[0] != null) {
                restarted[0].close();
            }
        }
    }

    @Test
    void copyOfASourceLeftDownFailsNamingTheLayerAndTheSource() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        QemuNbdServer server = throttled(chain.bottom(), sockets);
        Thread killer = new Thread(() -> {
            try {
                Thread.sleep(1_500);
                server.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        killer.start();
        ChainCopier copier = new ChainCopier(tmp.resolve("dest"), CopyOptions.defaults(), CopyProgress.NONE);
        LayerCopyException e = org.junit.jupiter.api.Assertions.assertThrows(LayerCopyException.class,
                () -> copier.copy(List.of(LayerSpec.of("base.raw", server.uri()))));
        killer.join();
        assertTrue(e.getMessage().startsWith("layer base.raw: ") && e.getMessage().contains(server.socket().toString())
                && e.getMessage().contains("attempts"), e.getMessage());
        try (var files = Files.list(tmp.resolve("dest"))) {
            assertEquals(List.of(), files.toList(), "temporary files left behind");
        }
    }

    @Test
    void aJobIdNamesOneJobOnly() throws Exception {
        Chain chain = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        try (QemuNbdServer base = QemuNbdServer.serveLayer(chain.bottom(), sockets);
             QemuNbdServer top = QemuNbdServer.serveLayer(chain.top(), sockets)) {
            String id = "once-" + UUID.randomUUID();
            List<LayerSpec> layers = List.of(LayerSpec.of("base.raw", base.uri()), LayerSpec.of("top.qcow2", top.uri()));
            JobSpec first = JobSpec.of(id, layers, "once", null, null, 2L << 20);
            Jobs.submit(e2e.config(), e2e.topics(), first);
            JobStatus status = e2e.await(id);
            assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));

            Jobs.submit(e2e.config(), e2e.topics(), first); // the same job again: accepted, changes nothing
            JobSpec other = JobSpec.of(id, layers, "once-other", null, null, 2L << 20);
            Jobs.JobRefusedException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    Jobs.JobRefusedException.class, () -> Jobs.submit(e2e.config(), e2e.topics(), other));
            assertEquals("job id " + id + " is already used by another job", refused.getMessage());

            // a producer that does not ask first: its record is set aside, the first job untouched
            long before = deadLetters(PipelineTopics.JOBS);
            e2e.produce(other.toRecord(Instant.now()));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (deadLetters(PipelineTopics.JOBS) == before && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            assertTrue(deadLetters(PipelineTopics.JOBS) > before, "the reused id was not refused");
            Thread.sleep(2_000);
            assertTrue(!Files.exists(e2e.destRoot().resolve("once-other")), "the reused id wrote to its dest");
            ChainJudge.assertExact(chain, e2e.destRoot().resolve("once"));
            JobStatus after = StatusReader.latest(e2e.config(), e2e.topics()).get(id);
            assertEquals(JobState.COMPLETE, after.getState());
            assertEquals("once", after.getDest());
        }
    }

    @Test
    void twoJobsOnOneDestinationAtOnceOneIsRefusedTheOtherExact() throws Exception {
        Chain a = PipelineStack.bigRaw(tmp.resolve("a"));
        Chain b = ChainBuilder.in(tmp.resolve("b")).size(48L << 20).clusterSize(65536).base("base.raw")
                .io("write -P 0x71 0 40M").build();
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        try (QemuNbdServer sa = throttled(a.bottom(), sockets);
             QemuNbdServer sb = throttled(b.bottom(), sockets)) {
            String ja = "a-" + UUID.randomUUID();
            String jb = "b-" + UUID.randomUUID();
            e2e.produce(PipelineStack.job(ja, List.of(new LayerSource("base.raw", sa.uri())), "shared-dest"));
            e2e.produce(PipelineStack.job(jb, List.of(new LayerSource("base.raw", sb.uri())), "shared-dest"));
            JobStatus stA = e2e.await(ja);
            JobStatus stB = e2e.await(jb);
            List<JobState> states = List.of(stA.getState(), stB.getState());
            assertTrue(states.contains(JobState.COMPLETE) && states.contains(JobState.FAILED), stA + " / " + stB);
            JobStatus failed = stA.getState() == JobState.FAILED ? stA : stB;
            assertTrue(String.valueOf(failed.getError()).contains("is held by running job"), failed.getError());
            ChainJudge.assertExact(stA.getState() == JobState.COMPLETE ? a : b,
                    e2e.destRoot().resolve("shared-dest"));
        }
    }

    /** A directory on its own 2 MiB tmpfs (the tests run as root, as CI does). */
    private static AutoCloseable smallFileSystem(Path dir) throws Exception {
        Files.createDirectories(dir);
        io.chainsync.testkit.Exec.run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir.toString()).expectSuccess();
        return () -> io.chainsync.testkit.Exec.run("umount", "-l", dir.toString());
    }

    @Test
    void aFullDestinationFailsTheJobWithTheReasonAndLeavesNothingTemporary() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        try (AutoCloseable small = smallFileSystem(e2e.destRoot().resolve("full"));
             QemuNbdServer server = QemuNbdServer.serveLayer(chain.bottom(), sockets)) {
            String job = UUID.randomUUID().toString();
            e2e.produce(PipelineStack.job(job, List.of(new LayerSource("base.raw", server.uri())), "full"));
            JobStatus status = e2e.await(job);
            assertEquals(JobState.FAILED, status.getState(), String.valueOf(status));
            assertTrue(String.valueOf(status.getError()).contains("No space left on device"), status.getError());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            List<String> left = PipelineStack.names(e2e.destRoot().resolve("full"));
            while (!left.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(500);
                left = PipelineStack.names(e2e.destRoot().resolve("full"));
            }
            assertEquals(List.of(), left, "temporary files of the failed job are left behind");

            String next = UUID.randomUUID().toString();
            e2e.produce(PipelineStack.job(next, List.of(new LayerSource("base.raw", server.uri())), "roomy"));
            assertEquals(JobState.COMPLETE,
                    e2e.await(next).getState());
            ChainJudge.assertExact(chain, e2e.destRoot().resolve("roomy"));
        }
    }

    @Test
    void copyIntoAFullDestinationFailsWithTheReasonAndLeavesNothingTemporary() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        Path full = tmp.resolve("full");
        try (AutoCloseable small = smallFileSystem(full);
             QemuNbdServer server = QemuNbdServer.serveLayer(chain.bottom(), sockets)) {
            LayerCopyException e = org.junit.jupiter.api.Assertions.assertThrows(LayerCopyException.class,
                    () -> new ChainCopier(full, CopyOptions.defaults(), CopyProgress.NONE)
                            .copy(List.of(LayerSpec.of("base.raw", server.uri()))));
            assertTrue(e.getMessage().startsWith("layer base.raw: ") && e.getMessage().contains("No space left"),
                    e.getMessage());
            assertEquals(List.of(), PipelineStack.names(full), "temporary files left behind");
            new ChainCopier(tmp.resolve("roomy"), CopyOptions.defaults(), CopyProgress.NONE)
                    .copy(List.of(LayerSpec.of("base.raw", server.uri())));
            ChainJudge.assertExact(chain, tmp.resolve("roomy"));
        }
    }

    // ------------------------------------------------------------------ job control

    private static void awaitFile(Path file) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Files.exists(file) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(Files.exists(file), "never written: " + file);
    }

    /** Waits until {@code dir} holds exactly {@code expected} (the copiers clean up once they see the job end). */
    private static List<String> awaitNames(Path dir, List<String> expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<String> names = PipelineStack.names(dir);
        while (!names.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(250);
            names = PipelineStack.names(dir);
        }
        return names;
    }

    private static LayerStatus layer(JobStatus status, String name) {
        return status.getLayers().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aJobFailedByASourceLeftDownIsRetriedOnceTheSourceIsBackAndCompletesExactly() throws Exception {
        Chain chain = ChainBuilder.in(tmp.resolve("src")).size(32L << 20).clusterSize(65536).base("base.raw")
                .io("write -P 0x61 0 8M").layer("top.qcow2").io("write -P 0x62 1M 12M", "write -z 24M 2M").build();
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        Path dest = e2e.destRoot().resolve("retry");
        String id = "retry-" + UUID.randomUUID();
        NbdServer restarted = null;
        try (QemuNbdServer base = QemuNbdServer.serveLayer(chain.bottom(), sockets);
             QemuNbdServer top = QemuNbdServer.serveLayer(chain.top(), sockets)) {
            // top.qcow2's server stopped (SIGSTOP): the scanner waits on its handshake while base.raw
            // is copied and finished; then the server is killed and left down, and the job fails
            top.signal("STOP");
            Jobs.submit(e2e.config(), e2e.topics(), JobSpec.of(id, List.of(LayerSpec.of("base.raw", base.uri()),
                    LayerSpec.of("top.qcow2", top.uri())), "retry", null, null, 2L << 20));
            awaitFile(dest.resolve("base.raw.manifest.json"));
            top.signal("KILL");
            top.close();
            JobStatus failed = e2e.await(id, 0);
            assertEquals(JobState.FAILED, failed.getState(), String.valueOf(failed));
            assertTrue(String.valueOf(failed.getError()).contains("layer top.qcow2")
                    && failed.getError().contains(top.socket().toString()), failed.getError());
            assertEquals(JobState.COMPLETE, layer(failed, "base.raw").getState(), String.valueOf(failed));
            assertEquals(0L, layer(failed, "top.qcow2").getBytesDone(), String.valueOf(failed));
            // nothing of top.qcow2 on disk: whatever it holds later, the retry wrote
            assertEquals(List.of("base.raw", "base.raw.manifest.json"),
                    awaitNames(dest, List.of("base.raw", "base.raw.manifest.json")));
            BasicFileAttributes baseBefore = Files.readAttributes(dest.resolve("base.raw"), BasicFileAttributes.class);
            String manifestBefore = Files.readString(dest.resolve("base.raw.manifest.json"));

            restarted = NbdServer.restart(top);
            int attempt = Jobs.retry(e2e.config(), e2e.topics(), id);
            assertEquals(1, attempt);
            JobStatus done = e2e.await(id, attempt);
            assertEquals(JobState.COMPLETE, done.getState(), String.valueOf(done));
            assertEquals(1, done.getAttempt());
            ChainJudge.assertExact(chain, dest);

            // the retry copied top.qcow2 again, all of it, in its own attempt ...
            LayerStatus topDone = layer(done, "top.qcow2");
            assertEquals(topDone.getChunksTotal(), topDone.getChunksDone(), String.valueOf(done));
            assertTrue(topDone.getBytesDone() >= 12L << 20, String.valueOf(done));
            // ... and kept base.raw, finished by the failed attempt, as it was: not one byte copied
            LayerStatus baseDone = layer(done, "base.raw");
            assertEquals(0L, baseDone.getBytesDone(), String.valueOf(done));
            BasicFileAttributes baseAfter = Files.readAttributes(dest.resolve("base.raw"), BasicFileAttributes.class);
            assertEquals(baseBefore.fileKey(), baseAfter.fileKey(), "base.raw was replaced");
            assertEquals(baseBefore.lastModifiedTime(), baseAfter.lastModifiedTime(), "base.raw was written again");
            assertEquals(manifestBefore, Files.readString(dest.resolve("base.raw.manifest.json")));
            assertEquals(List.of("base.raw", "base.raw.manifest.json", "top.qcow2", "top.qcow2.manifest.json"),
                    PipelineStack.names(dest));
        } finally {
            if (restarted != null) {
                restarted.close();
            }
        }
    }

    @Test
    void aJobCancelledMidCopyEndsCancelledLeavesNothingTemporaryAndTheCopiersGoIdle() throws Exception {
        Chain chain = ChainBuilder.in(tmp.resolve("src")).size(48L << 20).clusterSize(65536).base("base.raw")
                .io("write -P 0x61 0 20M", "write -P 0x62 24M 20M").build();
        Path dest = e2e.destRoot().resolve("cancel");
        String id = "cancel-" + UUID.randomUUID();
        try (QemuNbdServer source = QemuNbdServer.serveThrottled(chain.bottom(),
                Files.createDirectories(tmp.resolve("s")), 4 << 20)) {
            Jobs.submit(e2e.config(), e2e.topics(), JobSpec.of(id, List.of(LayerSpec.of("base.raw", source.uri())),
                    "cancel", null, null, 2L << 20));
            awaitFile(dest.resolve(".base.raw.partial"));
            Thread.sleep(1_000);
            JobStatus before = StatusReader.latest(e2e.config(), e2e.topics()).get(id);
            assertEquals(JobState.COPYING, before.getState(), String.valueOf(before));
            assertEquals(0, Jobs.cancel(e2e.config(), e2e.topics(), id));

            JobStatus cancelled = e2e.await(id, 0);
            assertEquals(JobState.FAILED, cancelled.getState(), String.valueOf(cancelled));
            assertEquals("cancelled", cancelled.getError());
            assertEquals(List.of(), awaitNames(dest, List.of()), "temporary files of the cancelled job left behind");

            // the copiers skipped what remained: lag 0, no more results, most chunks never copied
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (StatusReader.copierLag(e2e.config(), e2e.topics()).pending() != 0
                    && System.nanoTime() < deadline) {
                Thread.sleep(250);
            }
            assertEquals(0, StatusReader.copierLag(e2e.config(), e2e.topics()).pending(), "the copiers are not idle");
            long results = copyResults(id);
            Thread.sleep(2_000);
            assertEquals(results, copyResults(id), "the copiers still work on the cancelled job");
            long chunks = layer(cancelled, "base.raw").getChunksTotal();
            assertTrue(results < chunks, "not cancelled mid-copy: " + results + " of " + chunks + " chunks copied");
            JobStatus shown = StatusReader.latest(e2e.config(), e2e.topics()).get(id);
            assertEquals(JobState.FAILED, shown.getState());
            assertEquals("cancelled", shown.getError());
            assertEquals(List.of(), PipelineStack.names(dest));
            // `status` shows it, with the work the cancel left undone
            String[] kafka = e2e.kafkaArgs();
            Captured shownByCli = PipelineStack.cli("status", kafka[0], kafka[1], kafka[2], kafka[3], id);
            assertEquals(1, shownByCli.code(), "status of a failed (cancelled) job exits 1: " + shownByCli.err());
            long undone = chunks - layer(shown, "base.raw").getChunksDone();
            assertTrue(undone > 0 && shownByCli.out().contains("job " + id + ": FAILED (cancelled), pending " + undone
                    + "/" + chunks + " chunks, "), shownByCli.out());
        }
    }

    @Test
    void retryAndCancelOfACompleteJobAreRefused() throws Exception {
        Chain chain = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        String id = "complete-" + UUID.randomUUID();
        try (QemuNbdServer base = QemuNbdServer.serveLayer(chain.bottom(), sockets);
             QemuNbdServer top = QemuNbdServer.serveLayer(chain.top(), sockets)) {
            Jobs.submit(e2e.config(), e2e.topics(), JobSpec.of(id, List.of(LayerSpec.of("base.raw", base.uri()),
                    LayerSpec.of("top.qcow2", top.uri())), "complete", null, null, 2L << 20));
            assertEquals(JobState.COMPLETE, e2e.await(id, 0).getState());
        }
        Jobs.JobRefusedException refused = org.junit.jupiter.api.Assertions.assertThrows(Jobs.JobRefusedException.class,
                () -> Jobs.retry(e2e.config(), e2e.topics(), id));
        assertEquals("job " + id + " is COMPLETE: only a failed or cancelled job can be retried", refused.getMessage());

        String[] kafka = e2e.kafkaArgs();
        Captured retry = PipelineStack.cli("retry", kafka[0], kafka[1], kafka[2], kafka[3], id);
        assertEquals(2, retry.code(), retry.err());
        assertTrue(retry.err().startsWith("chainsync: job " + id + " is COMPLETE: only a failed or cancelled job can be "
                + "retried"), retry.err());
        Captured cancel = PipelineStack.cli("cancel", kafka[0], kafka[1], kafka[2], kafka[3], id);
        assertEquals(2, cancel.code(), cancel.err());
        assertTrue(cancel.err().startsWith("chainsync: job " + id + " has already ended (COMPLETE)"), cancel.err());
        Captured unknown = PipelineStack.cli("retry", kafka[0], kafka[1], kafka[2], kafka[3], "no-such-job");
        assertEquals(2, unknown.code(), unknown.err());
        assertTrue(unknown.err().startsWith("chainsync: no status for job no-such-job"), unknown.err());

        JobStatus after = StatusReader.latest(e2e.config(), e2e.topics()).get(id);
        assertEquals(JobState.COMPLETE, after.getState());
        assertEquals(0, after.getAttempt(), "a refused retry produced an attempt");
        ChainJudge.assertExact(chain, e2e.destRoot().resolve("complete"));
    }

    /** DONE COPY results of the job on chainsync.results, every attempt. */
    private static long copyResults(String job) {
        Properties p = e2e.config().properties();
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<ChunkKey, ChunkResult> consumer = new KafkaConsumer<>(p,
                e2e.topics().results().keySerde().deserializer(), e2e.topics().results().valueSerde().deserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(e2e.topics().results().name(), Duration.ofSeconds(10))
                    .forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            var end = consumer.endOffsets(partitions);
            long n = 0;
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (ConsumerRecord<ChunkKey, ChunkResult> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() != null && job.equals(r.value().getJob())
                            && r.value().getKind() == io.chainsync.avro.TaskKind.COPY
                            && r.value().getState() == io.chainsync.avro.ResultState.DONE) {
                        n++;
                    }
                }
            }
            return n;
        }
    }

    // ------------------------------------------------------------------ helpers

    private static KafkaProducer<byte[], byte[]> rawProducer() {
        return new KafkaProducer<>(e2e.config().properties(), new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Dead letters whose source topic is {@code topic}. */
    private static long deadLetters(String topic) {
        Properties p = e2e.config().properties();
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(PipelineTopics.DEAD_LETTERS, Duration.ofSeconds(10))
                    .forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long n = 0;
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (topic.equals(header(r, DeadLetters.HEADER_TOPIC))
                            || topic.equals(header(r, "__streams.errors.topic"))) {
                        n++;
                    }
                }
            }
            return n;
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static byte[] schemaIdOf(byte[] framed) {
        return java.util.Arrays.copyOfRange(framed, 1, 5);
    }

    private static byte[] avroString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return concat(varint(zigzag(b.length)), b);
    }

    private static long zigzag(long n) {
        return (n << 1) ^ (n >> 63);
    }

    private static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
