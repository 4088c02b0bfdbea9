package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Scenarios;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * docker-compose.yml as shipped, under Testcontainers: Kafka, the kafkasql registry, the example
 * source and the three services come up, the example (seed) job is submitted from inside a
 * service container, and the layers it writes to the bind-mounted dest are judged (docs/design.md
 * §4) against the same seed chain built here. Skipped, with the reason, where no Docker engine
 * answers (the embedded broker stays the default for every other test).
 */
class DockerComposeIT {

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
    void seedJobOnDockerCompose() throws Exception {
        assumeTrue(dockerAvailable(), "no Docker engine answers here (a docker CLI without a daemon is not enough):"
                + " docker-compose.yml is checked by `docker-compose config -q` in bin/test instead");
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Files.setPosixFilePermissions(dest, PosixFilePermissions.fromString("rwxrwxrwx")); // uid 10001 writes here
        ComposeContainer compose = new ComposeContainer(new File("../docker-compose.yml"))
                .withEnv(Map.of("CHAINSYNC_DEST_DIR", dest.toString()))
                .withBuild(true)
                .withLocalCompose(true)
                .waitingFor("registry", Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(5)))
                .waitingFor("nbd-source", Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(5)))
                .withStartupTimeout(Duration.ofMinutes(10));
        try {
            compose.start();
            ContainerState copier = compose.getContainerByServiceName("copier").orElseThrow();
            Container.ExecResult submit = copier.execInContainer("java", "-jar", "/opt/chainsync/chainsync-cli.jar",
                    "submit", "--wait", "--timeout", "300", "--dest", "demo",
                    "--layer", "base.raw=nbd://nbd-source:10809/base", "--layer", "top.qcow2=nbd://nbd-source:10810/top");
            assertEquals(0, submit.getExitCode(), submit.getStdout() + submit.getStderr());
        } finally {
            compose.stop();
        }
        // deploy/demo-source.sh serves the seed chain of docs/design.md, built here the same way
        Chain seed = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        ChainJudge.assertExact(seed, dest.resolve("demo"));
    }

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }
}
