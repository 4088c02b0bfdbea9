package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Exec;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.Scenarios;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/chainsync sync} as a user runs it, on its embedded broker and registry: the terminal shows the job's
 * progress and chainsync's own lines, never the broker's, the Kafka clients' or Streams' log (it goes to
 * {@code WORK/sync.log}, kept only when the job fails). The broker's log is turned up to INFO here
 * ({@code CHAINSYNC_STACK_LOG_LEVEL}), so that hundreds of its lines would reach the terminal if the routing did not
 * hold.
 */
class SyncQuietIT {

    /** A log line of the broker, a Kafka client, Streams or the registry. */
    private static final Pattern FOREIGN = Pattern.compile("(?i)kafka|stream-thread|apicurio|quarkus|rocksdb");
    /** A stack trace's frame or its first line. */
    private static final Pattern TRACE = Pattern.compile("^\\s+at |^(Caused by: )?[\\w.$]+(Exception|Error)(:|$)");

    @TempDir
    Path tmp;

    @Test
    @Timeout(600)
    void successfulSyncPrintsNoErrorsAndIsExact() throws Exception {
        Chain chain = Scenarios.THREE_LAYERS.build(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        Exec.Result r = sync(chain, dest);
        assertEquals(0, r.exitCode(), r.commandLine() + "\n" + r.stdout() + r.stderr());
        assertQuiet(r);
        ChainJudge.assertExact(chain, dest);
        assertEquals(List.of(), workDirs(), "a successful sync leaves no work directory behind");
    }

    /**
     * A job that fails (its destination already holds one of its layers) says why in one line, prints no stack
     * trace, and keeps the embedded stack's log for a post-mortem: the line naming it points at a file that holds
     * the broker's lines.
     */
    @Test
    @Timeout(600)
    void failedSyncKeepsTheLogAndSaysWhere() throws Exception {
        Chain chain = Scenarios.THREE_LAYERS.build(tmp.resolve("src"));
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Layer top = chain.layers().get(chain.layers().size() - 1);
        Files.writeString(dest.resolve(top.name()), "not a layer of this job");
        Exec.Result r = sync(chain, dest);
        assertEquals(1, r.exitCode(), r.commandLine() + "\n" + r.stdout() + r.stderr());
        assertQuiet(r);
        assertTrue(r.stderr().contains("chainsync: job "), r.stderr());
        List<Path> kept = workDirs();
        assertEquals(1, kept.size(), "the failed sync's work directory (its logs) is kept: " + kept);
        Path log = kept.get(0).resolve(SyncCommand.LOG_FILE);
        assertTrue(r.stderr().contains("is kept in " + kept.get(0)), r.stderr());
        String text = Files.readString(log);
        assertTrue(text.contains("KafkaRaftServer") && text.contains("stream-thread"),
                "the broker's and Streams' lines are in " + log);
        try (Stream<Path> files = Files.walk(kept.get(0))) {
            assertTrue(files.filter(Files::isRegularFile).allMatch(p -> p.toString().endsWith(".log")),
                    "only the logs are kept");
        }
    }

    private Exec.Result sync(Chain chain, Path dest) throws IOException {
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        Files.createDirectories(tmp.resolve("java-tmp"));
        try (ServedChain served = new ServedChain(chain, sockets)) {
            Path chainsync = Path.of("").toAbsolutePath().getParent().resolve("bin").resolve("chainsync");
            List<String> cmd = new ArrayList<>(List.of("env", "CHAINSYNC_STACK_LOG_LEVEL=INFO",
                    "JAVA_OPTS=-Djava.io.tmpdir=" + tmp.resolve("java-tmp"), chainsync.toString(), "sync",
                    "--dest", dest.toString(), "--chunk-size", "2M", "--progress", "never"));
            cmd.addAll(served.layerArgs());
            return Exec.run(cmd, Duration.ofMinutes(8), null);
        }
    }

    private List<Path> workDirs() throws IOException {
        try (Stream<Path> dirs = Files.list(tmp.resolve("java-tmp"))) {
            return dirs.filter(p -> p.getFileName().toString().startsWith("chainsync-sync")).toList();
        }
    }

    private static void assertQuiet(Exec.Result r) {
        for (String line : (r.stdout() + "\n" + r.stderr()).split("\n")) {
            assertTrue(!line.contains("ERROR"), "an ERROR line on the terminal: " + line + "\n" + r.stderr());
            assertTrue(!TRACE.matcher(line).find(), "a stack trace on the terminal: " + line + "\n" + r.stderr());
            assertTrue(!FOREIGN.matcher(line).find() || line.startsWith("chainsync: the log of this run"),
                    "a line of the embedded stack's log on the terminal: " + line + "\n" + r.stderr());
        }
    }
}
