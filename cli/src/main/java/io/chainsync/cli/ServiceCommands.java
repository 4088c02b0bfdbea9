package io.chainsync.cli;

import io.chainsync.copier.CopierService;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.OpsServer;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.planner.PlannerService;
import io.chainsync.scanner.ScannerService;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
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

    /**
     * Runs a service until the process is asked to stop (SIGTERM, SIGINT): exit 0. A service that
     * ends by itself ended on something fatal (an {@link Error} included): one line on stderr and
     * exit 1, so that a supervisor restarts it.
     */
    static int runUntilInterrupted(String role, AutoCloseable service, Runnable body) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean stopRequested = new AtomicBoolean();
        Thread worker = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                done.countDown();
            }
        }, "chainsync-" + role);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopRequested.set(true);
            try {
                service.close();
                done.await(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // shutting down anyway
            }
            if (failure.get() == null) {
                // a requested stop that finished cleanly: exit 0, not the JVM's 143/130 for the signal
                System.out.flush();
                System.err.flush();
                Runtime.getRuntime().halt(0);
            }
        }, "chainsync-" + role + "-stop"));
        worker.start();
        done.await();
        if (stopRequested.get()) {
            return 0;
        }
        Throwable t = failure.get();
        System.err.println("chainsync " + role + ": fatal: "
                + (t == null ? "the service stopped by itself" : t.getClass().getSimpleName() + ": " + t.getMessage()));
        return 1;
    }

    /** How long a stopping service may take to finish or abandon its task. */
    static final int STOP_TIMEOUT_SECONDS = 40;

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

        @Mixin
        ServiceOptions service;

        @Override
        public Integer call() throws Exception {
            ClientConfig config = kafka.config();
            service.ensureTopics(config);
            ScannerService scanner = new ScannerService(config, config.topics(), workerId("scanner"));
            try (OutageWatch watch = OutageWatch.start(config, "scanner");
                 OpsServer endpoint = service.startEndpoint(() -> watch.reachable() && scanner.ready())) {
                PipelineTopics t = config.topics();
                ServiceOptions.logStart("scanner", config.names().scannerGroup(), t.jobs().name() + " -> "
                        + t.extents().name() + ", " + t.scans().name(), config, endpoint, "");
                return runUntilInterrupted("scanner", scanner, scanner);
            }
        }
    }

    @Command(name = "planner", mixinStandardHelpOptions = true,
            description = "Runs the Kafka Streams planner: joins the contexts of each chunk into copy plans.")
    static final class Planner implements Callable<Integer> {
        @Mixin
        KafkaOptions kafka;

        @Option(names = "--state-dir", paramLabel = "DIR", description = "Kafka Streams state directory")
        Path stateDir;

        @Mixin
        ServiceOptions options;

        @Override
        public Integer call() throws Exception {
            ClientConfig config = kafka.config();
            options.ensureTopics(config);
            Path state = stateDir != null ? stateDir : Files.createTempDirectory("chainsync-planner");
            PlannerService service = PlannerService.create(config, PlannerService.Settings.of(config, state));
            OutageWatch watch = OutageWatch.start(config, "planner");
            OpsServer endpoint = options.startEndpoint(() -> watch.reachable() && service.ready());
            PipelineTopics t = config.topics();
            ServiceOptions.logStart("planner", config.names().plannerApplicationId(), t.jobs().name() + ", "
                    + t.extents().name() + ", " + t.scans().name() + ", " + t.results().name() + " -> "
                    + t.plans().name() + ", " + t.status().name(), config, endpoint, "state-dir=" + state);
            AtomicBoolean stopRequested = new AtomicBoolean();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stopRequested.set(true);
                service.close();
                System.out.flush();
                System.err.flush();
                Runtime.getRuntime().halt(0); // a requested stop: exit 0, not the JVM's code for the signal
            }, "chainsync-planner-stop"));
            service.start();
            boolean failed = service.awaitEnd();
            if (stopRequested.get() && !failed) {
                return 0;
            }
            System.err.println("chainsync planner: fatal: Kafka Streams stopped in state " + service.state()
                    + " (see the log); exiting so that a supervisor restarts the planner");
            return 1;
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

        @Mixin
        ServiceOptions options;

        @Override
        public Integer call() throws Exception {
            if (!Files.isDirectory(destRoot)) {
                throw new ParameterException(spec.commandLine(), "--dest-root " + destRoot + " is not a directory");
            }
            ClientConfig config = kafka.config();
            options.ensureTopics(config);
            CopierService service = new CopierService(config, config.topics(), destRoot, workerId("copier"));
            try (OutageWatch watch = OutageWatch.start(config, "copier");
                 OpsServer endpoint = options.startEndpoint(() -> watch.reachable() && service.ready())) {
                PipelineTopics t = config.topics();
                ServiceOptions.logStart("copier", config.names().copierGroup(), t.plans().name() + " -> "
                        + t.results().name(), config, endpoint, "dest-root=" + destRoot);
                return runUntilInterrupted("copier", service, service);
            }
        }
    }
}
