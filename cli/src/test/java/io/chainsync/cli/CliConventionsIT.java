package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.Scenarios;
import io.chainsync.testkit.Captured;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line's conventions (README "Exit status"): exit codes, one line for an unreachable
 * broker, progress off a terminal, JSON output, size suffixes, options from the environment. The
 * tests run with stderr redirected to a file, i.e. off a terminal. A wrong registry URL next to a
 * live broker, and the exit codes of jobs, are in the e2e module's OperabilityIT.
 */
class CliConventionsIT {

    @TempDir
    Path tmp;

    @Test
    void usageErrorsExit2() {
        CopyCommandIT.Result r = CopyCommandIT.run("status", "--bootstrap-servers", "127.0.0.1:1",
                "--registry-url", "http://127.0.0.1:1/apis/registry/v2", "--output", "yaml");
        assertEquals(Main.EXIT_USAGE, r.code(), r.err());
        assertTrue(r.err().contains("--output must be text or json"), r.err());
        r = CopyCommandIT.run("copy", "--dest", tmp.toString(), "--layer", "a.qcow2=nbd://h/a", "--progress", "sometimes");
        assertEquals(Main.EXIT_USAGE, r.code(), r.err());
        r = CopyCommandIT.run("copy", "--dest", tmp.toString(), "--layer", "a.qcow2=nbd://h/a", "--cluster-size", "64x");
        assertEquals(Main.EXIT_USAGE, r.code(), r.err());
        assertTrue(r.err().contains("'64x' is not a size"), r.err());
        r = CopyCommandIT.run("submit", "--bootstrap-servers", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:1/",
                "--dest", "d", "--layer", "a.qcow2=nbd://h/a", "--chunk-size", "3M");
        assertEquals(Main.EXIT_USAGE, r.code(), r.err());
        assertTrue(r.err().contains("2 MiB") || r.err().contains("2097152"), r.err());
    }

    /** Today's failure mode was a 71 s wait and a raw exception: now one line within the timeout. */
    @Test
    void deadBrokerIsOneLineAndExit3WithinTheTimeout() throws Exception {
        int port = freePort();
        long t0 = System.nanoTime();
        CopyCommandIT.Result r = CopyCommandIT.run("status", "--bootstrap-servers", "127.0.0.1:" + port,
                "--registry-url", "http://127.0.0.1:" + freePort() + "/apis/registry/v2", "--timeout", "3", "some-job");
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(Main.EXIT_UNREACHABLE, r.code(), r.err());
        assertEquals("chainsync: cannot reach Kafka at 127.0.0.1:" + port + ": no answer within 3s", r.err().strip());
        assertTrue(seconds < 30, "took " + seconds + " s"); // was 71 s before; generous on a loaded machine
    }

    /** Off a terminal: plain lines (no carriage returns, no escapes), one per layer at least; JSON summary. */
    @Test
    void copyOffATerminalPrintsPlainLinesAndAJsonSummary() throws Exception {
        assertFalse(ProgressOptions.stderrIsTerminal(), "the test's stderr must not be a terminal");
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        CopyCommandIT.Result r;
        CopyCommandIT.Result quiet;
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            List<String> args = new ArrayList<>(List.of("copy", "--output", "json", "--cluster-size", "64k"));
            args.addAll(served.layerArgs());
            List<String> first = new ArrayList<>(args);
            first.addAll(List.of("--dest", tmp.resolve("dest").toString()));
            r = CopyCommandIT.run(first.toArray(String[]::new));
            List<String> second = new ArrayList<>(args);
            second.addAll(List.of("--dest", tmp.resolve("dest2").toString(), "--progress=never"));
            quiet = CopyCommandIT.run(second.toArray(String[]::new));
        }
        assertEquals(0, r.code(), r.err());
        ChainJudge.assertExact(chain, tmp.resolve("dest"));
        assertFalse(r.err().contains("\r") || r.err().contains("\033"), r.err());
        for (Layer layer : chain.layers()) {
            assertTrue(r.err().lines().anyMatch(l -> l.matches(java.util.regex.Pattern.quote(layer.name())
                    + ": complete, .* in [0-9.]+ s \\(.*/s\\)")), r.err());
        }
        JsonNode summary = new ObjectMapper().readTree(r.out());
        assertEquals("COMPLETE", summary.get("state").asText());
        assertEquals(chain.layers().size(), summary.get("layers").size());
        assertEquals(65536, summary.get("layers").get(1).get("dataBytes").asLong(), r.out()); // one D cluster
        assertEquals(0, quiet.code(), quiet.err());
        assertEquals("", quiet.err());
    }

    /** Options from CHAINSYNC_* variables and from the file CHAINSYNC_CONFIG names; the command line wins. */
    @Test
    void optionsComeFromTheEnvironmentAndAConfigFile() throws Exception {
        int port = freePort();
        Path file = Files.writeString(tmp.resolve("chainsync.properties"),
                "registry-url=http://127.0.0.1:1/apis/registry/v2\ntimeout=2\n");
        java.util.Map<String, String> env = java.util.Map.of("CHAINSYNC_BOOTSTRAP_SERVERS", "127.0.0.1:" + port,
                "CHAINSYNC_CONFIG", file.toString());
        Captured r = Captured.run(() -> Main.run(env, "status"));
        assertEquals(Main.EXIT_UNREACHABLE, r.code(), r.err());
        assertEquals("chainsync: cannot reach Kafka at 127.0.0.1:" + port + ": no answer within 2s", r.err().strip());
        // the command line wins over the environment and the file
        r = Captured.run(() -> Main.run(env, "status", "--timeout", "1"));
        assertTrue(r.err().contains("no answer within 1s"), r.err());
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
