package io.chainsync.cli;

import io.chainsync.copier.CopierService;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.TopicSetup;
import io.chainsync.planner.PlannerService;
import io.chainsync.scanner.ScannerService;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** The long-running services: {@code chainsync scanner|planner|copier}. */
final class ServiceCommands {

    private ServiceCommands() {
    }

    /** Runs a service until the process is interrupted. */
    static int runUntilInterrupted(AutoCloseable service, Runnable body) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Thread worker = new Thread(() -> {
            try {
                body.run();
            } finally {
                done.countDown();
            }
        }, "chainsync-service");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.close();
            } catch (Exception ignored) {
                // shutting down anyway
            }
        }, "chainsync-service-stop"));
        worker.start();
        done.await();
        return 0;
    }

    static String workerId(String role) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "localhost";
        }
        return "chainsync-" + role + "-" + host + "-" + ProcessHandle.current().pid();
    }

    @Command(name = "scanner", mixinStandardHelpOptions = true,
            description = "Scans the layers of submitted jobs over NBD and publishes their extents.")
    static final class Scanner implements Callable<Integer> {
        @Mixin
        KafkaOptions kafka;

        @Option(names = "--partitions", defaultValue = "4", description = "partitions when creating topics")
        int partitions;

        @Override
        public Integer call() throws Exception {
            ClientConfig config = kafka.config();
            TopicSetup.ensure(config, partitions, (short) 1);
            ScannerService service = new ScannerService(config, config.topics(), workerId("scanner"));
            return runUntilInterrupted(service, service);
        }
    }

    @Command(name = "planner", mixinStandardHelpOptions = true,
            description = "Runs the Kafka Streams planner: joins the contexts of each chunk into copy plans.")
    static final class Planner implements Callable<Integer> {
        @Mixin
        KafkaOptions kafka;

        @Option(names = "--state-dir", paramLabel = "DIR", description = "Kafka Streams state directory")
        Path stateDir;

        @Option(names = "--partitions", defaultValue = "4", description = "partitions when creating topics")
        int partitions;

        @Override
        public Integer call() throws Exception {
            ClientConfig config = kafka.config();
            TopicSetup.ensure(config, partitions, (short) 1);
            Path state = stateDir != null ? stateDir : Files.createTempDirectory("chainsync-planner");
            PlannerService service = PlannerService.create(config, new PlannerService.Settings(state));
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                service.close();
                stopped.countDown();
            }, "chainsync-planner-stop"));
            service.start();
            stopped.await();
            return 0;
        }
    }

    @Command(name = "copier", mixinStandardHelpOptions = true,
            description = {"A copier worker: reads chunks over NBD and writes destination layers.",
                "Start several (on several machines sharing the destination) to spread the work."})
    static final class Copier implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        KafkaOptions kafka;

        @Option(names = "--dest-root", required = true, paramLabel = "DIR",
                description = "every job's destination is confined to this directory")
        Path destRoot;

        @Option(names = "--partitions", defaultValue = "4", description = "partitions when creating topics")
        int partitions;

        @Override
        public Integer call() throws Exception {
            if (!Files.isDirectory(destRoot)) {
                throw new ParameterException(spec.commandLine(), "--dest-root " + destRoot + " is not a directory");
            }
            ClientConfig config = kafka.config();
            TopicSetup.ensure(config, partitions, (short) 1);
            CopierService service = new CopierService(config, config.topics(), destRoot, workerId("copier"));
            return runUntilInterrupted(service, service);
        }
    }
}
