package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ServedChain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code chainsync sync} of a whole chain in a child JVM with a bounded heap: the embedded broker,
 * registry client, scanner, planner and copier all share that heap (issue 9: every service at
 * {@code -Xmx256m}). The sync must succeed without {@code OutOfMemoryError} and without broker
 * or Streams ERROR lines.
 */
final class BoundedSync {

    /** The heap of every service in issue 9's goals. */
    static final String HEAP = "256m";
    private static final Path CLI_JAR = Path.of("..", "cli", "target", "chainsync-cli.jar").toAbsolutePath()
            .normalize();

    private BoundedSync() {
    }

    /**
     * Serves every layer of {@code chain} alone and syncs them into {@code dest} with a child JVM
     * limited to {@code -Xmx}{@value #HEAP}; returns the child's output.
     */
    static String sync(Chain chain, Path dest, Path work, long timeoutSeconds) throws IOException,
            InterruptedException {
        assertTrue(Files.isRegularFile(CLI_JAR), "the CLI must be built first: " + CLI_JAR);
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(work.resolve("s")))) {
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                    "-Xmx" + HEAP, "-XX:+ExitOnOutOfMemoryError", "-jar", CLI_JAR.toString(), "sync",
                    "--dest", dest.toString()));
            cmd.addAll(served.layerArgs());
            Path log = work.resolve("sync.log");
            Process sync = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean ended = sync.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!ended) {
                sync.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            String output = Files.readString(log);
            assertTrue(ended, "sync did not finish in " + timeoutSeconds + " s:\n" + output);
            assertFalse(output.contains("OutOfMemoryError"), output);
            assertEquals(0, sync.exitValue(), output);
            // a successful job prints no broker or Streams ERROR lines (issue 9: OutOfOrderSequenceException)
            assertFalse(output.contains("OutOfOrderSequenceException"), output);
            // (the KRaft controller's EventPerformanceMonitor reports slow events at ERROR when the
            // machine is overloaded; that is the machine, not the job)
            assertTrue(output.lines().filter(l -> !l.contains("EventPerformanceMonitor"))
                    .noneMatch(l -> l.matches(".*(^|\\s|\\[)ERROR(\\s|\\]).*")), output);
            return output;
        }
    }
}
