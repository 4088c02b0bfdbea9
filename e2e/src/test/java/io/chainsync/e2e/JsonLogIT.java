package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineNames;
import io.chainsync.nbd.NbdUri;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copier process started with {@code CHAINSYNC_LOG_FORMAT=json} (and the pipeline's topic and
 * group prefixes as options) logs only JSON objects, one per line: its start line, the line of
 * each finished layer (size, time since the job started, rate), the line of the finished job, and
 * a WARN once the broker it works with has gone away.
 */
@Timeout(300)
class JsonLogIT {

    private static final Path CLI_JAR = Path.of("..", "cli", "target", "chainsync-cli.jar").toAbsolutePath()
            .normalize();
    private static final PipelineNames NAMES = new PipelineNames("logs.", "logs-");

    @TempDir
    Path tmp;

    @Test
    void aServiceLogsOneJsonObjectPerLine() throws Exception {
        assertTrue(Files.isRegularFile(CLI_JAR), "the CLI must be built first: " + CLI_JAR);
        Path log = tmp.resolve("copier.log");
        Path root = Files.createDirectories(tmp.resolve("root"));
        Chain chain = Scenarios.THREE_LAYERS.build(tmp.resolve("src"));
        LocalStack stack = LocalStack.start(tmp.resolve("stack"));
        Process process = null;
        try {
            ClientConfig config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl()).withNames(NAMES);
            ProcessBuilder copier = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                    "-jar", CLI_JAR.toString(), "copier", "--bootstrap-servers", stack.bootstrapServers(),
                    "--registry-url", stack.registryUrl(), "--topic-prefix", NAMES.topicPrefix(),
                    "--group-prefix", NAMES.groupPrefix(), "--partitions", "2", "--dest-root", root.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            copier.environment().put("CHAINSYNC_LOG_FORMAT", "json");
            // the pipeline first: it creates the topics, the copier finds them
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), root, 0, 2,
                    EnumSet.of(EmbeddedPipeline.Role.SCANNER, EmbeddedPipeline.Role.PLANNER))) {
                process = copier.start();
                JobStatus status = run(config, chain);
                assertEquals(JobState.COMPLETE, status.getState(), status + "\n" + Files.readString(log));
                ChainJudge.assertExact(chain, root.resolve("vm"));
                // the job's line comes when the copier is idle after the job's end
                awaitLine(log, "job complete");
            }
            // then the broker and registry go away under the running copier: it says so
            stack.close();
            stack = null;
            awaitLine(log, "broker unreachable; waiting for it");
        } finally {
            if (process != null) {
                process.destroy(); // SIGTERM: a requested stop
                assertTrue(process.waitFor(90, TimeUnit.SECONDS), "the copier did not stop");
            }
            if (stack != null) {
                stack.close();
            }
        }
        assertEquals(0, process.exitValue(), Files.readString(log));

        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            if (!line.isBlank()) {
                JsonNode node = json.readTree(line); // throws on anything but JSON
                assertTrue(node.isObject() && node.has("level") && node.has("message") && node.has("loggerName"),
                        line);
                lines.add(node);
            }
        }
        JsonNode started = find(lines, "chainsync copier started");
        assertEquals("logs-chainsync-copier", started.path("contextMap").path("group").asText(), started.toString());
        assertTrue(started.path("contextMap").path("topics").asText().startsWith("logs.chainsync.plans"),
                started.toString());
        int layers = 0;
        for (JsonNode line : lines) {
            if (line.path("message").asText().equals("layer complete")) {
                JsonNode kv = line.path("contextMap");
                assertTrue(kv.path("virtualSize").asLong() > 0 && kv.has("dataBytes")
                        && kv.path("sinceJobStart").asText().matches("\\d+\\.\\ds")
                        && kv.path("rate").asText().matches("\\d+\\.\\dMiB/s"), line.toString());
                layers++;
            }
        }
        assertEquals(chain.layers().size(), layers, "layer lines");
        JsonNode job = find(lines, "job complete");
        assertEquals("INFO", job.path("level").asText());
        assertEquals("vm", job.path("contextMap").path("dest").asText(), job.toString());
        JsonNode away = find(lines, "broker unreachable; waiting for it");
        assertEquals("WARN", away.path("level").asText());
        assertTrue(away.path("contextMap").path("reason").asText().contains("cannot reach Kafka"), away.toString());
    }

    private static void awaitLine(Path log, String message) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Files.readString(log).contains("\"" + message + "\"") && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
    }

    private static JsonNode find(List<JsonNode> lines, String message) {
        return lines.stream().filter(l -> l.path("message").asText().equals(message)).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + message + "' line in " + lines));
    }

    private JobStatus run(ClientConfig config, Chain chain) throws Exception {
        try (ServedChain servers = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            List<LayerSpec> layers = new ArrayList<>();
            servers.uris().forEach((name, uri) -> layers.add(new LayerSpec(name, NbdUri.parse(uri))));
            JobSpec job = JobSpec.of(null, layers, "vm", null, null, 2L << 20);
            Jobs.submit(config, config.topics(), job);
            return Jobs.await(config, config.topics(), job.job(), Duration.ofSeconds(180), s -> { })
                    .orElseThrow(() -> new AssertionError("the job did not end"));
        }
    }
}
