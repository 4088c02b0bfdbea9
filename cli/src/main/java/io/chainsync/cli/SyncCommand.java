package io.chainsync.cli;

import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.jobs.Timing;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.scanner.JobSpec;

import io.chainsync.stack.KafkaBroker;
import io.chainsync.stack.LocalStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code chainsync sync}: the whole pipeline in one command. Without addresses it starts a local
 * broker itself (a pipeline private to this process: no registry, every topic plain Avro); it
 * runs the scanner, planner and copiers in-process, submits the job, waits for it and shuts
 * everything down.
 */
@Command(name = "sync", mixinStandardHelpOptions = true,
        description = {"Reconstructs a chain through the Kafka pipeline, all in this process.",
            "Without --bootstrap-servers/--registry-url it starts a local Kafka broker itself."})
final class SyncCommand implements Callable<Integer> {

    /** The log of the embedded broker, Kafka clients and Streams, in the work directory (docs/operations.md). */
    static final String LOG_FILE = "sync.log";

    @Spec
    CommandSpec spec;

    @Mixin
    JobOptions jobOptions;

    @Option(names = "--dest", required = true, paramLabel = "DIR", description = "destination directory")
    Path dest;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "use this Kafka")
    String bootstrapServers;

    @Option(names = "--registry-url", paramLabel = "URL", description = "use this registry")
    String registryUrl;

    @Option(names = "--kafka-config", paramLabel = "FILE", description = KafkaOptions.KAFKA_CONFIG_HELP)
    Path kafkaConfig;

    @Option(names = "--registry-config", paramLabel = "FILE", description = KafkaOptions.REGISTRY_CONFIG_HELP)
    Path registryConfig;

    @Option(names = "--copiers", paramLabel = "N", defaultValue = "2", description = "copier workers (default ${DEFAULT-VALUE})")
    int copierCount;

    @Mixin
    ProgressOptions progressOptions;

    @Mixin
    OutputOptions outputOptions;

    @Mixin
    NameOptions names;

    @Mixin
    TopicOptions topicOptions;

    @Override
    public Integer call() throws Exception {
        SubmitCommand.checkOutputOptions(spec, progressOptions, outputOptions);
        if ((bootstrapServers == null) != (registryUrl == null)) {
            throw new ParameterException(spec.commandLine(),
                    "give both --bootstrap-servers and --registry-url, or neither for the embedded stack");
        }
        JobSpec job = jobOptions.job(spec, null, ".");
        Path destRoot = dest.toAbsolutePath().normalize();
        Files.createDirectories(destRoot);
        Path work = Files.createTempDirectory("chainsync-sync");
        KafkaBroker broker = null;
        boolean ok = false;
        SyncLog log = SyncLog.to(work.resolve(LOG_FILE));
        try {
            ClientConfig config;
            if (bootstrapServers == null) {
                long t0 = Timing.start();
                // a pipeline private to this process: a broker alone, every topic plain Avro, no registry
                broker = LocalStack.ephemeralBroker(work.resolve("stack"));
                Timing.phase("stack.broker", t0);
                config = ClientConfig.privatePipeline(broker.bootstrapServers(), names.names());
            } else {
                config = KafkaOptions.config(bootstrapServers, registryUrl, kafkaConfig, registryConfig, names.names());
                Reachability.check(config, Duration.ofSeconds(30));
            }
            int partitions = topicOptions.partitions();
            if (bootstrapServers != null) {
                topicOptions.ensure(config); // a deployed cluster: the user's partitions and replication
            } else if (!spec.commandLine().getParseResult().hasMatchedOption("--partitions")) {
                // embedded: the fewest planner tasks (state stores to open); the plans topic gets one partition
                // per copier (EmbeddedPipeline)
                partitions = 1;
            }
            PipelineTopics topics = config.topics();
            long t2 = Timing.start();
            // the job's session (its producer, a status view caught up) is opened while the planner rebalances
            AtomicReference<Jobs.Session> opened = new AtomicReference<>();
            EmbeddedPipeline started;
            try {
                started = EmbeddedPipeline.start(config, work.resolve("planner"), destRoot, copierCount, partitions,
                        EnumSet.allOf(EmbeddedPipeline.Role.class), () -> {
                            long t = Timing.start();
                            opened.set(openSession(config, topics));
                            Timing.phase("job.session", t);
                        });
            } catch (RuntimeException e) {
                if (opened.get() != null) {
                    opened.get().close();
                }
                throw e;
            }
            try (EmbeddedPipeline pipeline = started; Jobs.Session session = opened.get()) {
                Timing.phase("pipeline.start", t2);
                long t3 = Timing.start();
                try {
                    session.submit(job);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(spec.commandLine(), e.getMessage());
                }
                Timing.phase("job.submit", t3);
                // with --verify the copiers verify each layer once finalized (JobOptions): the job's status says
                int code = SubmitCommand.awaitJob(spec, session, job.job(), 0,
                        Duration.ofSeconds(jobOptions.timeoutSeconds), progressOptions, outputOptions);
                Timing.phase("job.run", t3);
                ok = code == 0;
                return code;
            }
        } finally {
            long t4 = Timing.start();
            if (broker != null) {
                broker.close();
            }
            Timing.phase("stack.close", t4);
            log.close();
            deleteTree(work, !ok);
            if (!ok) {
                spec.commandLine().getErr().println("chainsync: the log of this run (Kafka clients, Streams"
                        + (broker == null ? "" : ", the embedded broker") + ") is kept in " + work);
            }
        }
    }

    private static Jobs.Session openSession(ClientConfig config, PipelineTopics topics) {
        try {
            return Jobs.Session.open(config, topics);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while opening the job's session", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("cannot open the job's session: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Deletes the work directory; with {@code keepLogs}, {@value #LOG_FILE} stays. */
    private static void deleteTree(Path dir, boolean keepLogs) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder())
                    .filter(p -> !(keepLogs && p.equals(dir.resolve(LOG_FILE))))
                    .forEach(p -> p.toFile().delete()); // a directory that still holds a log stays
        } catch (Exception ignored) {
            // temporary state only
        }
    }
}
