package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.cli.Main;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.copier.LayerManifest;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.Captured;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdkitServer;
import io.chainsync.testkit.Scenarios;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Verification through the pipeline (docs/design.md §3, "Verification in the pipeline"), with a
 * real KRaft broker and Apicurio registry and real NBD servers, driven through the CLI:
 * {@code sync --verify} and {@code submit --verify} make the copiers verify each layer once it is
 * finalized, and {@code status} shows each layer VERIFIED or the first differing offset.
 */
class VerifyPipelineIT {

    @TempDir
    static Path shared;

    static LocalStack stack;
    static ClientConfig config;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        stack = LocalStack.start(shared.resolve("stack"));
        config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    /**
     * {@code sync --verify} (the whole pipeline in this process, on the shared broker): the chain
     * ends COMPLETE, every layer VERIFIED in the job's status (JSON and text), every manifest holds
     * the layer's digests, and the output is exact.
     */
    @Test
    @Timeout(600)
    void syncWithVerifyEndsCompleteWithEveryLayerVerified() throws Exception {
        Chain chain = Scenarios.THREE_LAYERS.build(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        Captured sync;
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            List<String> args = new ArrayList<>(List.of("sync", "--dest", dest.toString(), "--chunk-size",
                    String.valueOf(2 << 20), "--verify", "--output", "json", "--progress", "never",
                    "--bootstrap-servers", stack.bootstrapServers(), "--registry-url", stack.registryUrl()));
            args.addAll(served.layerArgs());
            sync = cli(args.toArray(String[]::new));
        }
        assertEquals(0, sync.code(), sync.toString());
        String status = jsonLine(sync.out());
        assertTrue(status.startsWith("{\"job\":\"") && status.contains("\"state\":\"COMPLETE\""), status);
        List<String> layers = layers(status);
        assertEquals(chain.layers().size(), layers.size(), status);
        for (String layer : layers) {
            assertTrue(layer.contains("\"state\":\"COMPLETE\"") && layer.contains("\"verified\":true")
                    && layer.contains("\"firstDifference\":null"), "layer not verified: " + layer);
        }
        for (Layer layer : chain.layers()) {
            LayerManifest m = LayerManifest.read(dest.resolve(LayerManifest.fileName(layer.name())));
            assertTrue(m != null && m.contentDigest() != null && m.verifiedAt() != null,
                    "manifest of " + layer.name() + ": " + m);
        }
        ChainJudge.assertExact(chain, dest);

        String job = status.substring("{\"job\":\"".length(), status.indexOf('"', "{\"job\":\"".length()));
        Captured text = cli("status", job, "--bootstrap-servers", stack.bootstrapServers(), "--registry-url",
                stack.registryUrl());
        assertEquals(0, text.code(), text.toString());
        for (Layer layer : chain.layers()) {
            assertTrue(text.out().contains("  " + layer.name() + " COMPLETE VERIFIED "), text.out());
        }
    }

    /**
     * A source that reads differently once its layer has been copied (as a disk written after its
     * backup): byte {@code X} reads as 'a' the first time and as 'b' afterwards. The copy reads it
     * once and writes 'a'; the copier's verification reads it again after FINALIZE, so the job
     * submitted with {@code submit --verify} must end FAILED naming the layer and offset {@code X}.
     * That the failure is the verification's, not the copy's: the finalized layer in the
     * destination holds 'a' at {@code X} (the copy was right), and the source was read a second time.
     */
    @Test
    @Timeout(600)
    void aLayerThatDiffersFromItsSourceAfterTheCopyFailsTheJobAtTheFirstDifferingOffset() throws Exception {
        long size = 4L << 20;
        long x = (3L << 20) + 5;
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path script = script("changing.sh", size, state, List.of(
                "    x=" + x,
                "    if [ \"$off\" -le $x ] && [ $((off + count)) -gt $x ]; then",
                "      if [ -e $state/read-once ]; then",
                "        head -c $((x - off)) /dev/zero | tr '\\0' 'a'; printf 'b'",
                "        head -c $((off + count - x - 1)) /dev/zero | tr '\\0' 'a'",
                "        touch $state/read-twice",
                "        exit 0",
                "      fi",
                "      touch $state/read-once",
                "    fi",
                "    head -c \"$count\" /dev/zero | tr '\\0' 'a' ;;"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        String job = "verify-differs-" + System.nanoTime();
        String name = "changing.qcow2";
        Captured submit;
        try (NbdkitServer source = NbdkitServer.builder("sh").param("script", script.toString()).readOnly(true)
                .start(Files.createDirectories(tmp.resolve("s")));
             EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 2, 4)) {
            submit = cli("submit", "--job-id", job, "--dest", "out", "--chunk-size", String.valueOf(2 << 20),
                    "--layer", name + "=" + source.uri(), "--verify", "--wait", "--output", "json",
                    "--progress", "never", "--timeout", "300",
                    "--bootstrap-servers", stack.bootstrapServers(), "--registry-url", stack.registryUrl());
        }
        assertEquals(1, submit.code(), submit.toString());
        String status = jsonLine(submit.out());
        assertTrue(status.contains("\"job\":\"" + job + "\",\"state\":\"FAILED\""), status);
        List<String> layers = layers(status);
        assertEquals(1, layers.size(), status);
        String layer = layers.get(0);
        assertTrue(layer.contains("\"state\":\"FAILED\"") && layer.contains("\"verified\":false")
                && layer.contains("\"firstDifference\":" + x + "}"), layer);
        String error = status.substring(status.indexOf("\"error\":"), status.indexOf("\"layers\":"));
        assertTrue(error.contains(name) && error.contains("at offset " + x), error);
        assertTrue(submit.err().contains(name) && submit.err().contains("at offset " + x), submit.err());

        // the copy was right and the verification did read the source again
        assertTrue(Files.exists(state.resolve("read-twice")), "the source was not read again after the copy");
        Path layerFile = destRoot.resolve("out").resolve(name);
        assertTrue(Files.isRegularFile(layerFile), "the layer was not finalized");
        assertEquals('a', layerContent(layerFile)[(int) x]);

        Captured text = cli("status", job, "--bootstrap-servers", stack.bootstrapServers(), "--registry-url",
                stack.registryUrl());
        assertEquals(1, text.code(), text.toString());
        assertTrue(text.out().contains("  " + name + " FAILED DIFFERS at offset " + x), text.out());
    }

    /**
     * A copier killed (SIGKILL) while it verifies a finalized layer: the FINALIZE task was not
     * committed, so it is delivered again to the surviving copier, which finds the layer finished
     * and verifies it again; the job ends COMPLETE with the layer VERIFIED. The source logs every
     * read made after the copy had read the whole layer (the verification's), and makes each take a
     * second: the victim is killed once its verification has read something, and the survivor's
     * verification reads the layer's first bytes again.
     */
    @Test
    @Timeout(600)
    void aVerificationInterruptedByACopierCrashIsDoneAgain() throws Exception {
        Path cliJar = Path.of("..", "cli", "target", "chainsync-cli.jar").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(cliJar), "the CLI must be built first: " + cliJar);
        long size = 4L << 20;
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path verifyLog = state.resolve("verify.log");
        Path script = script("slow-verify.sh", size, state, List.of(
                "    total=$(cat $state/total 2>/dev/null || echo 0)",
                "    if [ $total -ge $size ]; then",
                "      echo \"$off\" >> $state/verify.log",
                "      sleep 1",
                "    else",
                "      echo $((total + count)) > $state/total",
                "    fi",
                "    head -c \"$count\" /dev/zero | tr '\\0' 'a' ;;"));
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        String name = "slow.qcow2";
        Path clientProps = tmp.resolve("client.properties");
        Files.writeString(clientProps, "session.timeout.ms=6000\nheartbeat.interval.ms=1000\n");
        long readBeforeKill;
        try (NbdkitServer source = NbdkitServer.builder("sh").param("script", script.toString()).readOnly(true)
                .start(Files.createDirectories(tmp.resolve("s")));
             EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 0, 4,
                     EnumSet.of(EmbeddedPipeline.Role.SCANNER, EmbeddedPipeline.Role.PLANNER))) {
            Process victim = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar",
                    cliJar.toString(), "copier", "--bootstrap-servers", stack.bootstrapServers(),
                    "--registry-url", stack.registryUrl(), "--kafka-config", clientProps.toString(),
                    "--dest-root", destRoot.toString())
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("victim.log").toFile()).start();
            JobSpec job;
            try {
                job = JobSpec.of(null, List.of(LayerSpec.of(name, source.uri())), "crash", null, null, 2L << 20)
                        .withVerify(true);
                Jobs.submit(config, config.topics(), job);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
                while (lines(verifyLog) < 2) { // the victim's verification has begun reading the source
                    assertTrue(victim.isAlive(), "the copier died on its own: see victim.log");
                    assertTrue(System.nanoTime() < deadline, "the verification never began");
                    Thread.sleep(200);
                }
                victim.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                readBeforeKill = lines(verifyLog);
            } finally {
                victim.destroyForcibly();
            }
            assertTrue(readBeforeKill < size / (256 << 10), "the victim finished verifying before it was killed");
            try (EmbeddedPipeline survivor = EmbeddedPipeline.start(config, tmp.resolve("survivor"), destRoot, 1, 4,
                    EnumSet.of(EmbeddedPipeline.Role.COPIERS))) {
                JobStatus status = Jobs.await(config, config.topics(), job.job(), Duration.ofSeconds(300), s -> { })
                        .orElseThrow(() -> new AssertionError("job did not finish"));
                assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
                assertTrue(status.getLayers().get(0).getVerified(), String.valueOf(status));
            }
        }
        // the victim's requests left unanswered are fewer than the layer's: the survivor read it all again
        long after = lines(verifyLog) - readBeforeKill;
        assertTrue(after >= size / (256 << 10), "the survivor did not verify the layer again: " + after + " reads");
        byte[] content = layerContent(destRoot.resolve("crash").resolve(name));
        for (byte b : content) {
            assertEquals('a', b);
        }
    }

    /**
     * An nbdkit sh plugin script serving {@code size} bytes, one request at a time, whose
     * {@code pread} runs {@code pread} (shell lines with {@code count}, {@code off} and
     * {@code state} set; the last one ends with {@code ;;}).
     */
    private Path script(String name, long size, Path state, List<String> pread) throws Exception {
        List<String> lines = new ArrayList<>(List.of(
                "#!/bin/bash",
                "size=" + size,
                "state=" + state,
                "case \"$1\" in",
                "  get_size) echo $size ;;",
                "  thread_model) echo serialize_all_requests ;;",
                "  pread)",
                "    count=$3; off=$4"));
        lines.addAll(pread);
        lines.addAll(List.of("  *) exit 2 ;;", "esac", ""));
        Path script = tmp.resolve(name);
        Files.writeString(script, String.join("\n", lines));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private static long lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }

    /** The content of a small qcow2 layer read alone (it has no backing file), by qemu-img. */
    private static byte[] layerContent(Path qcow2) throws Exception {
        Path raw = qcow2.resolveSibling("check.raw");
        Process p = new ProcessBuilder("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(),
                raw.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        try {
            return Files.readAllBytes(raw);
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    /**
     * The JSON status {@code --output json} printed (the last object on stdout), without the
     * whitespace outside its strings: {@code {"job":"...","state":...}}.
     */
    private static String jsonLine(String out) {
        int start = out.lastIndexOf("\n{");
        start = start >= 0 ? start + 1 : out.indexOf('{');
        if (start < 0) {
            throw new AssertionError("no JSON status in: " + out);
        }
        StringBuilder compact = new StringBuilder();
        boolean inString = false;
        for (int i = start; i < out.length(); i++) {
            char c = out.charAt(i);
            if (c == '"' && (i == 0 || out.charAt(i - 1) != '\\')) {
                inString = !inString;
            }
            if (inString || !Character.isWhitespace(c)) {
                compact.append(c);
            }
        }
        return compact.toString();
    }

    /** The JSON objects of a status's layers, in order. */
    private static List<String> layers(String status) {
        String[] parts = status.substring(status.indexOf("\"layers\":[")).split("\\{\"layer\":");
        return List.of(parts).subList(1, parts.length);
    }

    private static Captured cli(String... args) {
        return Captured.run(() -> Main.run(args));
    }
}
