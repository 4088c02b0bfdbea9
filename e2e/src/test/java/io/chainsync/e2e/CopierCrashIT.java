package io.chainsync.e2e;

import io.chainsync.copier.CopierService;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.QemuNbdServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copier worker killed with SIGKILL in the middle of a job: its uncommitted tasks go to the
 * surviving worker, half-written chunks are written again, and the layer still comes out exact.
 */
class CopierCrashIT {

    @TempDir
    Path tmp;

    @Test
    void jobSurvivesAKilledCopier() throws Exception {
        Path cliJar = Path.of("..", "cli", "target", "chainsync-cli.jar").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(cliJar), "the CLI must be built first: " + cliJar);
        // a 32 MiB raw bottom layer, read slowly: 2 MiB/s for both copiers together (qemu's throttle;
        // nbdkit 1.32 with its delay filter once aborted when the killed copier's connections reset:
        // "raw_send_socket: Assertion `sock >= 0' failed")
        Chain chain = ChainBuilder.in(tmp.resolve("src")).size(32L << 20).base("base.raw")
                .io("write -P 0x71 0 12M", "write -P 0x72 16M 14M").build();
        Path destRoot = Files.createDirectories(tmp.resolve("dest-root"));
        try (LocalStack stack = LocalStack.start(tmp.resolve("stack"));
             QemuNbdServer source = QemuNbdServer.serveThrottled(chain.bottom(),
                     Files.createDirectories(tmp.resolve("s")), 2 << 20)) {
            ClientConfig config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
            PipelineTopics topics = config.topics();
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, tmp.resolve("planner"), destRoot, 1, 4)) {
                Path clientProps = tmp.resolve("client.properties");
                Files.writeString(clientProps, "session.timeout.ms=6000\nheartbeat.interval.ms=1000\n");
                Process victim = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar",
                        cliJar.toString(), "copier", "--bootstrap-servers", stack.bootstrapServers(),
                        "--registry-url", stack.registryUrl(), "--kafka-config", clientProps.toString(),
                        "--dest-root", destRoot.toString())
                        .redirectErrorStream(true).redirectOutput(tmp.resolve("victim.log").toFile()).start();
                try {
                    awaitMembers(config, 2, Duration.ofSeconds(90));
                    JobSpec job = JobSpec.of(null, List.of(LayerSpec.of("base.raw", source.uri())), "crash", null,
                            null, 2L << 20);
                    Jobs.submit(config, topics, job);
                    Thread.sleep(3_000); // both workers are inside their first chunks now
                    assertTrue(victim.isAlive(), "the second copier died on its own: see victim.log");
                    victim.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    JobStatus status = Jobs.await(config, topics, job.job(), Duration.ofSeconds(180), s -> { })
                            .orElseThrow(() -> new AssertionError("job did not finish"));
                    assertEquals(JobState.COMPLETE, status.getState(), () -> status + "\nsource alive: "
                            + source.isAlive() + ", its output (last 2000 chars): " + tail(source.output(), 2000));
                } finally {
                    victim.destroyForcibly();
                }
            }
        }
        ChainJudge.assertExact(chain, destRoot.resolve("crash"));
    }

    private static String tail(String text, int chars) {
        return text.length() <= chars ? text : text.substring(text.length() - chars);
    }

    private static void awaitMembers(ClientConfig config, int members, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(config.properties())) {
            while (System.nanoTime() < deadline) {
                var group = admin.describeConsumerGroups(List.of(CopierService.GROUP)).all().get()
                        .get(CopierService.GROUP);
                if (group.members().size() >= members
                        && group.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                    return;
                }
                Thread.sleep(200);
            }
        }
        throw new AssertionError("the copier group did not reach " + members + " members");
    }
}
