package io.chainsync.e2e;

import io.chainsync.copier.CopierService;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.KafkaClients;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copier worker killed with SIGKILL in the middle of a job (while its partitions hold tasks it
 * has not committed): its uncommitted tasks go to the surviving worker, half-written chunks are
 * written again, and the layer still comes out exact.
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
                    // the kill must fall mid-work: the victim's partitions hold tasks it has not committed
                    long held = tasksHeldByOtherProcess(config, topics.plans().name());
                    victim.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    assertTrue(held > 0, "the victim held no task when it was killed: the test proves nothing");
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

    /**
     * The tasks not yet committed on the partitions of the copier group's members that are not
     * this JVM's (the embedded pipeline's clients are named {@code embedded-PID-...}): records
     * between the group's committed offset and the end of each such partition, read as the
     * copiers read them (committed transactions only, so transaction markers are not counted).
     */
    private static long tasksHeldByOtherProcess(ClientConfig config, String plans) throws Exception {
        String ours = "embedded-" + ProcessHandle.current().pid() + "-";
        Set<TopicPartition> theirs = new HashSet<>();
        Map<TopicPartition, OffsetAndMetadata> committed;
        try (Admin admin = Admin.create(config.properties())) {
            var group = admin.describeConsumerGroups(List.of(CopierService.GROUP)).all().get()
                    .get(CopierService.GROUP);
            group.members().stream().filter(m -> !m.clientId().startsWith(ours))
                    .forEach(m -> theirs.addAll(m.assignment().topicPartitions()));
            committed = admin.listConsumerGroupOffsets(CopierService.GROUP).partitionsToOffsetAndMetadata().get();
        }
        assertTrue(!theirs.isEmpty(), "the victim has no partition of " + plans);
        long held = 0;
        try (KafkaConsumer<byte[], byte[]> reader = KafkaClients.consumer(config, "crash-test-reader", "crash-test")) {
            reader.assign(theirs);
            Map<TopicPartition, Long> ends = reader.endOffsets(theirs);
            for (TopicPartition tp : theirs) {
                OffsetAndMetadata c = committed.get(tp);
                reader.seek(tp, c == null ? 0 : c.offset());
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (theirs.stream().anyMatch(tp -> reader.position(tp) < ends.get(tp))
                    && System.nanoTime() < deadline) {
                held += reader.poll(Duration.ofMillis(200)).count();
            }
        }
        return held;
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
