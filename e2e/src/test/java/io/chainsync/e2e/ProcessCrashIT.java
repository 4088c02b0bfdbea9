package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerSource;
import io.chainsync.avro.SyncJob;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.TopicSetup;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A service process killed with SIGKILL in the middle of a job, then started again: the scanner,
 * the planner (on its state directory, or with the directory lost), and the broker with the
 * registry ({@code chainsync stack} on the same {@code --dir}). Each test proves the process
 * held work when it died (records it had produced, results still missing) and judges the job.
 */
@Timeout(400)
class ProcessCrashIT {

    private static final Path CLI_JAR = Path.of("..", "cli", "target", "chainsync-cli.jar").toAbsolutePath()
            .normalize();

    /**
     * The broker and registry of the tests whose services leave the groups within seconds (child
     * processes with 6 s sessions, plain consumers) and whose jobs end: the planner killed, the
     * scanner and planner stopped. The scanner and copier tests run an embedded planner (a Streams
     * member stays in its group for its 45 s session after close) or leave a job unfinished: they
     * start a stack of their own.
     */
    @RegisterExtension
    static final PipelineStack shared = PipelineStack.perClassWithoutServices();

    @TempDir
    Path tmp;

    /** A child JVM running {@code chainsync NAME ARGS...}, its output in {@code NAME.log}. */
    private Process cli(String name, String... args) throws IOException {
        assertTrue(Files.isRegularFile(CLI_JAR), "the CLI must be built first: " + CLI_JAR);
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-jar", CLI_JAR.toString()));
        cmd.add(name); // the command: scanner, planner, stack
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve(name + ".log").toFile())).start();
    }

    private String[] kafkaArgs(LocalStack stack) throws IOException {
        return kafkaArgs(stack.bootstrapServers(), stack.registryUrl());
    }

    private String[] kafkaArgs(String bootstrap, String registry) throws IOException {
        Path props = tmp.resolve("client.properties");
        Files.writeString(props, "session.timeout.ms=6000\nheartbeat.interval.ms=1000\n");
        return new String[] {"--bootstrap-servers", bootstrap, "--registry-url", registry,
            "--kafka-config", props.toString()};
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void kill(Process p) throws InterruptedException {
        p.destroyForcibly(); // SIGKILL
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the process did not die");
    }

    private static long records(ClientConfig config, String topic) throws Exception {
        try (Admin admin = Admin.create(config.properties())) {
            Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
            admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
                    .forEach(p -> request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            long n = 0;
            for (var info : admin.listOffsets(request).all().get().values()) {
                n += info.offset();
            }
            return n;
        }
    }

    private static SyncJob job(String id, String name, String uri, String dest) {
        return PipelineStack.job(id, List.of(new LayerSource(name, uri)), dest);
    }

    private static JobStatus await(ClientConfig config, String job) {
        return PipelineStack.await(config, job, Duration.ofSeconds(240));
    }

    @Test
    void aScannerKilledMidScanIsStartedAgainAndTheJobCompletes() throws Exception {
        // two layers; the upper one's server is frozen (SIGSTOP), so the scanner, having scanned and
        // summarized the base, holds the job mid-scan, waiting on the upper layer, when it is killed
        Chain chain = ChainBuilder.in(tmp.resolve("src")).size(64L << 20).clusterSize(65536).base("base.qcow2")
                .io("write -P 0x61 0 8M", "write -z 20M 1M", "write -P 0x62 40M 4M").layer("top.qcow2")
                .io("write -P 0x63 2M 4M", "write -z 41M 1M").build();
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        try (LocalStack stack = LocalStack.start(tmp.resolve("stack"));
             QemuNbdServer base = QemuNbdServer.serveLayer(chain.bottom(), sockets);
             QemuNbdServer top = QemuNbdServer.serveLayer(chain.top(), sockets)) {
            ClientConfig config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 1, 4,
                    EnumSet.of(EmbeddedPipeline.Role.PLANNER, EmbeddedPipeline.Role.COPIERS))) {
                Process scanner = cli("scanner", kafkaArgs(stack));
                try {
                    long extentsBefore = records(config, PipelineTopics.EXTENTS);
                    long scansBefore = records(config, PipelineTopics.SCANS);
                    top.signal("STOP");
                    String id = UUID.randomUUID().toString();
                    SyncJob job = job(id, "base.qcow2", base.uri(), "scanner-crash");
                    job.getLayers().add(new LayerSource("top.qcow2", top.uri()));
                    PipelineStack.produce(config, job);
                    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                    while (records(config, PipelineTopics.SCANS) <= scansBefore && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    Thread.sleep(500);
                    assertTrue(scanner.isAlive(), "the scanner died by itself");
                    kill(scanner);
                    top.signal("CONT");
                    assertTrue(records(config, PipelineTopics.EXTENTS) > extentsBefore, "no extents: not mid-scan");
                    assertEquals(scansBefore + 1, records(config, PipelineTopics.SCANS),
                            "not killed mid-scan: the base's summary should be out, the upper layer's not");
                    scanner = cli("scanner", kafkaArgs(stack));
                    JobStatus status = await(config, id);
                    assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                    ChainJudge.assertExact(chain, destRoot.resolve("scanner-crash"));
                } finally {
                    scanner.destroyForcibly();
                    top.signal("CONT");
                }
            }
        }
    }

    @ParameterizedTest(name = "state directory kept: {0}")
    @ValueSource(booleans = {true, false})
    void aPlannerKilledMidJobIsStartedAgainAndTheJobCompletes(boolean keepStateDir) throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        LocalStack stack = shared.stack();
        try (QemuNbdServer source = QemuNbdServer.serveThrottled(chain.bottom(),
                Files.createDirectories(tmp.resolve("s")), 8 << 20)) {
            ClientConfig config = shared.config();
            TopicSetup.ensure(config, 4, (short) 1);
            Path state = tmp.resolve("planner-state");
            Process planner = cli("planner", concat(kafkaArgs(stack), "--state-dir", state.toString()));
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("unused"), destRoot, 2, 4,
                    EnumSet.of(EmbeddedPipeline.Role.SCANNER, EmbeddedPipeline.Role.COPIERS))) {
                long resultsBefore = records(config, PipelineTopics.RESULTS);
                String id = UUID.randomUUID().toString();
                PipelineStack.produce(config, job(id, "base.raw", source.uri(), "planner-crash"));
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (records(config, PipelineTopics.RESULTS) < resultsBefore + 3 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                kill(planner);
                long results = records(config, PipelineTopics.RESULTS) - resultsBefore;
                assertTrue(results >= 3 && results < 20, "not killed mid-job: " + results + " results");
                if (!keepStateDir) {
                    Trees.delete(state);
                }
                planner = cli("planner", concat(kafkaArgs(stack), "--state-dir", state.toString()));
                JobStatus status = await(config, id);
                assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                ChainJudge.assertExact(chain, destRoot.resolve("planner-crash"));
            } finally {
                planner.destroyForcibly();
            }
        }
    }

    @Test
    void theBrokerAndRegistryKilledMidJobAndStartedAgainOnTheirDirectory() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        Path stackDir = tmp.resolve("stack");
        Process stack = cli("stack", "--dir", stackDir.toString());
        String[] addresses = addresses(stack);
        ClientConfig config = new ClientConfig(addresses[0], addresses[1]);
        try (QemuNbdServer source = QemuNbdServer.serveThrottled(chain.bottom(), Files.createDirectories(tmp.resolve("s")),
                6 << 20);
             EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 2, 4)) {
            long resultsBefore = records(config, PipelineTopics.RESULTS);
            String id = UUID.randomUUID().toString();
            PipelineStack.produce(config, job(id, "base.raw", source.uri(), "stack-crash"));
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (records(config, PipelineTopics.RESULTS) < resultsBefore + 2 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            long results = records(config, PipelineTopics.RESULTS) - resultsBefore;
            kill(stack);
            assertTrue(results >= 2 && results < 20, "not killed mid-job: " + results + " results");
            Thread.sleep(3_000);
            stack = cli("stack", "--dir", stackDir.toString());
            String[] again = addresses(stack);
            assertEquals(List.of(addresses), List.of(again), "a restarted stack must keep its addresses");
            JobStatus status = await(config, id);
            assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
            ChainJudge.assertExact(chain, destRoot.resolve("stack-crash"));
            assertTrue(pipeline.healthy(), "a service did not ride out the outage");
        } finally {
            // SIGTERM, so that the stack stops its registry child too (a SIGKILL would orphan it)
            stack.destroy();
            if (!stack.waitFor(60, TimeUnit.SECONDS)) {
                stack.destroyForcibly();
            }
        }
    }

    @Test
    void copyInterruptedRemovesItsTemporaryFilesAndExits130() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        try (QemuNbdServer source = QemuNbdServer.serveThrottled(chain.bottom(), Files.createDirectories(tmp.resolve("s")),
                4 << 20)) {
            Process copy = cli("copy", "--layer", "base.raw=" + source.uri(), "--dest", dest.toString());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            Path partial = dest.resolve(".base.raw.partial");
            while (!Files.exists(partial) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(Files.exists(partial), "the copy never started writing");
            Thread.sleep(1_000);
            new ProcessBuilder("kill", "-INT", Long.toString(copy.pid())).start().waitFor();
            assertTrue(copy.waitFor(30, TimeUnit.SECONDS), "copy did not stop on SIGINT");
            assertEquals(130, copy.exitValue());
            try (var files = Files.list(dest)) {
                assertEquals(List.of(), files.toList(), "left behind");
            }
            assertTrue(Files.readString(tmp.resolve("copy.log")).contains("copy interrupted; temporary files removed"));
        }
    }

    @Test
    void aCopierStopsWithinBoundedTimeOnSigtermAndExits0() throws Exception {
        Chain chain = PipelineStack.bigRaw(tmp.resolve("src"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        try (LocalStack stack = LocalStack.start(tmp.resolve("stack"));
             QemuNbdServer source = QemuNbdServer.serveThrottled(chain.bottom(), Files.createDirectories(tmp.resolve("s")),
                     2 << 20)) {
            ClientConfig config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 0, 4,
                    EnumSet.of(EmbeddedPipeline.Role.SCANNER, EmbeddedPipeline.Role.PLANNER))) {
                Process copier = cli("copier", concat(kafkaArgs(stack), "--dest-root", destRoot.toString()));
                long resultsBefore = records(config, PipelineTopics.RESULTS);
                PipelineStack.produce(config, job(UUID.randomUUID().toString(), "base.raw", source.uri(), "sigterm"));
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (records(config, PipelineTopics.RESULTS) < resultsBefore + 1 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(records(config, PipelineTopics.RESULTS) > resultsBefore, "the copier never worked");
                long t0 = System.nanoTime();
                copier.destroy(); // SIGTERM, mid-job: the source is slow, chunks remain
                assertTrue(copier.waitFor(60, TimeUnit.SECONDS), "the copier ignored SIGTERM");
                assertEquals(0, copier.exitValue(), Files.readString(tmp.resolve("copier.log")));
                assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 50);
            }
        }
    }

    /**
     * SIGTERM of the scanner mid-job, then of the planner mid-copy (one stack for both): each
     * exits 0 within a bounded time, and each job completes exactly once the service is started
     * again. Each signal is shown to land while the service holds work: the scanner's job has the
     * summary of its first layer out and is retrying its second, whose source is away; the
     * planner's job has some results and not all.
     */
    @Test
    void theScannerAndThePlannerStopWithinBoundedTimeOnSigtermAndExit0() throws Exception {
        Chain seed = Scenarios.SEED_QCOW2.build(tmp.resolve("seed"));
        Chain big = PipelineStack.bigRaw(tmp.resolve("big"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        NbdServer topRestarted = null;
        LocalStack stack = shared.stack();
        try (QemuNbdServer baseSource = QemuNbdServer.serveLayer(seed.bottom(), sockets);
             QemuNbdServer topSource = QemuNbdServer.serveLayer(seed.top(), sockets);
             QemuNbdServer bigSource = QemuNbdServer.serveThrottled(big.bottom(), sockets, 8 << 20)) {
            topSource.close(); // away until the scanner is stopped
            ClientConfig config = shared.config();
            TopicSetup.ensure(config, 4, (short) 1);
            Path state = tmp.resolve("planner-state");
            Process planner = cli("planner", concat(kafkaArgs(stack), "--state-dir", state.toString()));
            Process scanner = cli("scanner", kafkaArgs(stack));
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("unused"), destRoot, 2, 4,
                    EnumSet.of(EmbeddedPipeline.Role.COPIERS))) {
                // the scanner, mid-job: layer 0 scanned, layer 1 retried while its source is away
                long scansBefore = records(config, PipelineTopics.SCANS);
                String scanned = UUID.randomUUID().toString();
                SyncJob two = job(scanned, seed.bottom().name(), baseSource.uri(), "scanner-sigterm");
                two.getLayers().add(new LayerSource(seed.top().name(), topSource.uri()));
                PipelineStack.produce(config, two);
                Path scannerLog = tmp.resolve("scanner.log");
                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while ((records(config, PipelineTopics.SCANS) < scansBefore + 1
                        || !Files.readString(scannerLog).contains("layer scan failed, retrying"))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(scansBefore + 1, records(config, PipelineTopics.SCANS), "not mid-job");
                assertTrue(Files.readString(scannerLog).contains("layer scan failed, retrying"), "not mid-job");
                stopsWithin(scanner, "scanner", Duration.ofSeconds(30));
                assertEquals(scansBefore + 1, records(config, PipelineTopics.SCANS), "the stopping scanner went on");
                topRestarted = NbdServer.restart(topSource);
                scanner = cli("scanner", kafkaArgs(stack));
                JobStatus status = await(config, scanned);
                assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                ChainJudge.assertExact(seed, destRoot.resolve("scanner-sigterm"));

                // the planner, mid-copy
                long resultsBefore = records(config, PipelineTopics.RESULTS);
                String copied = UUID.randomUUID().toString();
                PipelineStack.produce(config, job(copied, "base.raw", bigSource.uri(), "planner-sigterm"));
                deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (records(config, PipelineTopics.RESULTS) < resultsBefore + 3 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                long results = records(config, PipelineTopics.RESULTS) - resultsBefore;
                assertTrue(results >= 3 && results < 20, "not mid-job: " + results + " results");
                stopsWithin(planner, "planner", Duration.ofSeconds(45));
                planner = cli("planner", concat(kafkaArgs(stack), "--state-dir", state.toString()));
                status = await(config, copied);
                assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                ChainJudge.assertExact(big, destRoot.resolve("planner-sigterm"));
            } finally {
                scanner.destroyForcibly();
                planner.destroyForcibly();
            }
        } finally {
            if (topRestarted != null) {
                topRestarted.close();
            }
        }
    }

    /** Sends SIGTERM and expects exit 0 within {@code bound}. */
    private void stopsWithin(Process service, String name, Duration bound) throws Exception {
        long t0 = System.nanoTime();
        service.destroy(); // SIGTERM
        assertTrue(service.waitFor(bound.toSeconds() + 15, TimeUnit.SECONDS), "the " + name + " ignored SIGTERM");
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertEquals(0, service.exitValue(), Files.readString(tmp.resolve(name + ".log")));
        assertTrue(took.compareTo(bound) < 0, "the " + name + " took " + took + " to stop");
    }

    /** Waits for {@code stack}'s line 'bootstrap=HOST:PORT registry=URL' in its log. */
    private String[] addresses(Process stack) throws Exception {
        Pattern line = Pattern.compile("bootstrap=(\\S+) registry=(\\S+)");
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        Path log = tmp.resolve("stack.log");
        String[] last = null;
        while (System.nanoTime() < deadline && stack.isAlive()) {
            if (Files.exists(log)) {
                try (BufferedReader r = Files.newBufferedReader(log)) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        Matcher m = line.matcher(l);
                        if (m.find()) {
                            last = new String[] {m.group(1), m.group(2)};
                        }
                    }
                }
                long lines = Files.readAllLines(log).stream().filter(l -> line.matcher(l).find()).count();
                if (last != null && lines == starts) {
                    starts++;
                    return last;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the stack did not start: " + (Files.exists(log) ? Files.readString(log) : ""));
    }

    private long starts = 1;
}
