package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.cli.Main;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job through {@code chainsync stack --secure}: a broker whose only client listener is SASL_SSL (SCRAM) and a
 * registry that serves HTTPS only. The services run with the client files the stack wrote ({@code --kafka-config},
 * {@code --registry-config}); a wrong password is one clear error line, at once.
 */
@Timeout(300)
class SecureKafkaIT {

    private static final Path CLI_JAR = Path.of("..", "cli", "target", "chainsync-cli.jar").toAbsolutePath()
            .normalize();
    private static final Pattern STACK_LINE = Pattern.compile(
            "bootstrap=(\\S+) registry=(\\S+) kafka-config=(\\S+) registry-config=(\\S+)");

    @TempDir
    Path tmp;

    @Test
    void aJobThroughTheSecureStackIsExactAndAWrongPasswordIsOneClearLine() throws Exception {
        assertTrue(Files.isRegularFile(CLI_JAR), "the CLI must be built first: " + CLI_JAR);
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        Process stack = cli(tmp.resolve("stack.log"), "stack", "--secure", "--dir", tmp.resolve("stack").toString());
        List<NbdServer> servers = new ArrayList<>();
        try {
            Matcher m = awaitLine(stack, tmp.resolve("stack.log"));
            String bootstrap = m.group(1);
            String registry = m.group(2);
            Path kafkaConfig = Path.of(m.group(3));
            Path registryConfig = Path.of(m.group(4));
            assertTrue(registry.startsWith("https://"), registry);
            assertTrue(Files.readString(kafkaConfig).contains("security.protocol=SASL_SSL"));

            List<String> args = new ArrayList<>(List.of("sync", "--bootstrap-servers", bootstrap,
                    "--registry-url", registry, "--kafka-config", kafkaConfig.toString(),
                    "--registry-config", registryConfig.toString(), "--dest", tmp.resolve("dest").toString(),
                    "--copiers", "1", "--timeout", "120"));
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, Files.createDirectories(tmp.resolve("s")));
                servers.add(server);
                args.add("--layer");
                args.add(layer.name() + "=" + server.uri());
            }
            assertEquals(0, Main.run(args.toArray(String[]::new)), "sync through the secure stack");
            ChainJudge.assertExact(chain, tmp.resolve("dest"));

            // the same client file with a wrong password
            Path wrong = tmp.resolve("wrong.properties");
            Properties props = new Properties();
            try (Reader r = Files.newBufferedReader(kafkaConfig)) {
                props.load(r);
            }
            String jaas = props.getProperty("sasl.jaas.config");
            props.setProperty("sasl.jaas.config", jaas.replaceAll("password=\"[^\"]+\"", "password=\"0123456789\""));
            assertTrue(!jaas.equals(props.getProperty("sasl.jaas.config")), "password not replaced: " + jaas);
            try (Writer w = Files.newBufferedWriter(wrong)) {
                props.store(w, null);
            }
            Path log = tmp.resolve("submit.log");
            long t0 = System.nanoTime();
            Process submit = cli(log, "submit", "--bootstrap-servers", bootstrap, "--registry-url", registry,
                    "--kafka-config", wrong.toString(), "--registry-config", registryConfig.toString(),
                    "--layer", chain.bottom().name() + "=" + servers.get(0).uri(), "--dest", "wrong");
            assertTrue(submit.waitFor(60, TimeUnit.SECONDS), "submit with a wrong password hangs");
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
            assertEquals(1, submit.exitValue(), String.join("\n", lines));
            assertEquals(1, lines.size(), "one line: " + String.join("\n", lines));
            String line = lines.get(0);
            assertTrue(line.startsWith("chainsync: ") && line.contains(bootstrap)
                    && line.contains("invalid credentials"), line);
            System.out.println("wrong password, after " + took.toMillis() + " ms: " + line);
        } finally {
            servers.forEach(NbdServer::close);
            // SIGTERM, so that the stack stops its registry child too
            stack.destroy();
            if (!stack.waitFor(60, TimeUnit.SECONDS)) {
                stack.destroyForcibly();
            }
        }
    }

    /** A child JVM running {@code chainsync ARGS...}, stdout and stderr in {@code log}. */
    private static Process cli(Path log, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-jar", CLI_JAR.toString()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /** Waits for the secure stack's line 'bootstrap=... registry=... kafka-config=... registry-config=...'. */
    private static Matcher awaitLine(Process stack, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
        while (System.nanoTime() < deadline && stack.isAlive()) {
            if (Files.exists(log)) {
                for (String l : Files.readAllLines(log)) {
                    Matcher m = STACK_LINE.matcher(l);
                    if (m.find()) {
                        return m;
                    }
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the secure stack did not start: " + (Files.exists(log) ? Files.readString(log) : ""));
    }
}
