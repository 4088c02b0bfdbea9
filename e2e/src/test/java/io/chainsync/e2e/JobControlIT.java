package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkResult;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerStatus;
import io.chainsync.cli.Main;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.jobs.StatusReader;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Job control against the real broker, registry and qemu-nbd (docs/design.md §3, "Faults"): a job
 * failed by a source left down is retried once the source is back and completes exactly, keeping
 * the layer it had finished; a job cancelled mid-copy ends FAILED (cancelled) with nothing
 * temporary left and idle copiers; retry and cancel of a complete job are refused.
 */
@Timeout(300)
class JobControlIT {

    @TempDir
    static Path shared;

    static LocalStack stack;
    static ClientConfig config;
    static PipelineTopics topics;
    static Path destRoot;
    static EmbeddedPipeline pipeline;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        stack = LocalStack.start(shared.resolve("stack"));
        config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
        topics = config.topics();
        destRoot = Files.createDirectories(shared.resolve("dest-root"));
        pipeline = EmbeddedPipeline.start(config, shared.resolve("planner"), destRoot, 2, 4);
    }

    @AfterAll
    static void stop() {
        if (pipeline != null) {
            pipeline.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** A layer served throttled (qemu's throttle filter keeps allocation-depth), so a copy takes seconds. */
    private static QemuNbdServer throttled(io.chainsync.testkit.Layer layer, Path sockDir, int bytesPerSecond) {
        String file = "{\"driver\":\"file\",\"filename\":\"" + layer.path().toAbsolutePath() + "\"}";
        String inner = layer.isRaw() ? "{\"driver\":\"raw\",\"file\":" + file + "}"
                : "{\"driver\":\"qcow2\",\"backing\":null,\"file\":" + file + "}";
        return QemuNbdServer.builder("json:{\"driver\":\"throttle\",\"throttle-group\":\"tg\",\"file\":" + inner + "}",
                        null).allocationDepth(!layer.isRaw())
                .arg("--object", "throttle-group,id=tg,x-bps-read=" + bytesPerSecond).start(sockDir);
    }


    private static JobStatus await(String job, int attempt) {
        return Jobs.await(config, topics, job, attempt, Duration.ofSeconds(180), s -> { })
                .orElseThrow(() -> new AssertionError("job " + job + " did not finish"));
    }

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
        List<String> names = names(dir);
        while (!names.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(250);
            names = names(dir);
        }
        return names;
    }

    private static List<String> names(Path dir) throws java.io.IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static LayerStatus layer(JobStatus status, String name) {
        return status.getLayers().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aJobFailedByASourceLeftDownIsRetriedOnceTheSourceIsBackAndCompletesExactly() throws Exception {
        Chain chain = ChainBuilder.in(tmp.resolve("src")).size(32L << 20).clusterSize(65536).base("base.raw")
                .io("write -P 0x61 0 8M").layer("top.qcow2").io("write -P 0x62 1M 12M", "write -z 24M 2M").build();
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        Path dest = destRoot.resolve("retry");
        String id = "retry-" + UUID.randomUUID();
        NbdServer restarted = null;
        try (QemuNbdServer base = QemuNbdServer.serveLayer(chain.bottom(), sockets);
             QemuNbdServer top = throttled(chain.top(), sockets, 2 << 20)) {
            Jobs.submit(config, topics, JobSpec.of(id, List.of(LayerSpec.of("base.raw", base.uri()),
                    LayerSpec.of("top.qcow2", top.uri())), "retry", null, null, 2L << 20));
            // base.raw finished by this attempt, top.qcow2 mid-copy (12 MiB at 2 MiB/s)
            awaitFile(dest.resolve("base.raw.manifest.json"));
            awaitFile(dest.resolve(".top.qcow2.partial"));
            top.close();
            assertTrue(!Files.exists(dest.resolve("top.qcow2")), "top.qcow2 was finished before its source went down");
            JobStatus failed = await(id, 0);
            assertEquals(JobState.FAILED, failed.getState(), String.valueOf(failed));
            assertTrue(String.valueOf(failed.getError()).contains("layer top.qcow2")
                    && failed.getError().contains(top.socket().toString()), failed.getError());
            assertEquals(JobState.COMPLETE, layer(failed, "base.raw").getState(), String.valueOf(failed));
            // the failed attempt's temporaries are gone: whatever top.qcow2 holds later, the retry wrote
            assertEquals(List.of("base.raw", "base.raw.manifest.json"),
                    awaitNames(dest, List.of("base.raw", "base.raw.manifest.json")));
            BasicFileAttributes baseBefore = Files.readAttributes(dest.resolve("base.raw"), BasicFileAttributes.class);
            String manifestBefore = Files.readString(dest.resolve("base.raw.manifest.json"));

            restarted = NbdServer.restart(top);
            int attempt = Jobs.retry(config, topics, id);
            assertEquals(1, attempt);
            JobStatus done = await(id, attempt);
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
                    names(dest));
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
        Path dest = destRoot.resolve("cancel");
        String id = "cancel-" + UUID.randomUUID();
        try (QemuNbdServer source = throttled(chain.bottom(), Files.createDirectories(tmp.resolve("s")), 4 << 20)) {
            Jobs.submit(config, topics, JobSpec.of(id, List.of(LayerSpec.of("base.raw", source.uri())), "cancel",
                    null, null, 2L << 20));
            awaitFile(dest.resolve(".base.raw.partial"));
            Thread.sleep(1_000);
            JobStatus before = StatusReader.latest(config, topics).get(id);
            assertEquals(JobState.COPYING, before.getState(), String.valueOf(before));
            assertEquals(0, Jobs.cancel(config, topics, id));

            JobStatus cancelled = await(id, 0);
            assertEquals(JobState.FAILED, cancelled.getState(), String.valueOf(cancelled));
            assertEquals("cancelled", cancelled.getError());
            assertEquals(List.of(), awaitNames(dest, List.of()), "temporary files of the cancelled job left behind");

            // the copiers skipped what remained: lag 0, no more results, most chunks never copied
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (StatusReader.copierLag(config, topics).pending() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(250);
            }
            assertEquals(0, StatusReader.copierLag(config, topics).pending(), "the copiers are not idle");
            long results = copyResults(id);
            Thread.sleep(2_000);
            assertEquals(results, copyResults(id), "the copiers still work on the cancelled job");
            long chunks = layer(cancelled, "base.raw").getChunksTotal();
            assertTrue(results < chunks, "not cancelled mid-copy: " + results + " of " + chunks + " chunks copied");
            JobStatus shown = StatusReader.latest(config, topics).get(id);
            assertEquals(JobState.FAILED, shown.getState());
            assertEquals("cancelled", shown.getError());
            assertEquals(List.of(), names(dest));
        }
    }

    @Test
    void retryAndCancelOfACompleteJobAreRefused() throws Exception {
        Chain chain = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        String id = "complete-" + UUID.randomUUID();
        try (QemuNbdServer base = QemuNbdServer.serveLayer(chain.bottom(), sockets);
             QemuNbdServer top = QemuNbdServer.serveLayer(chain.top(), sockets)) {
            Jobs.submit(config, topics, JobSpec.of(id, List.of(LayerSpec.of("base.raw", base.uri()),
                    LayerSpec.of("top.qcow2", top.uri())), "complete", null, null, 2L << 20));
            assertEquals(JobState.COMPLETE, await(id, 0).getState());
        }
        Jobs.JobRefusedException refused = assertThrows(Jobs.JobRefusedException.class,
                () -> Jobs.retry(config, topics, id));
        assertEquals("job " + id + " is COMPLETE: only a failed or cancelled job can be retried", refused.getMessage());

        String[] kafka = {"--bootstrap-servers", stack.bootstrapServers(), "--registry-url", stack.registryUrl()};
        Cli retry = cli("retry", kafka[0], kafka[1], kafka[2], kafka[3], id);
        assertEquals(2, retry.code, retry.err);
        assertTrue(retry.err.startsWith("chainsync: job " + id + " is COMPLETE: only a failed or cancelled job can be "
                + "retried"), retry.err);
        Cli cancel = cli("cancel", kafka[0], kafka[1], kafka[2], kafka[3], id);
        assertEquals(2, cancel.code, cancel.err);
        assertTrue(cancel.err.startsWith("chainsync: job " + id + " has already ended (COMPLETE)"), cancel.err);
        Cli unknown = cli("retry", kafka[0], kafka[1], kafka[2], kafka[3], "no-such-job");
        assertEquals(2, unknown.code, unknown.err);
        assertTrue(unknown.err.startsWith("chainsync: no status for job no-such-job"), unknown.err);

        JobStatus after = StatusReader.latest(config, topics).get(id);
        assertEquals(JobState.COMPLETE, after.getState());
        assertEquals(0, after.getAttempt(), "a refused retry produced an attempt");
        ChainJudge.assertExact(chain, destRoot.resolve("complete"));
    }

    private record Cli(int code, String err) {
    }

    private static Cli cli(String... args) {
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Cli(code, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(oldErr);
        }
    }

    /** DONE COPY results of the job on chainsync.results, every attempt. */
    private static long copyResults(String job) {
        Properties p = config.properties();
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<ChunkKey, ChunkResult> consumer = new KafkaConsumer<>(p,
                topics.results().keySerde().deserializer(), topics.results().valueSerde().deserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topics.results().name(), Duration.ofSeconds(10))
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
}
