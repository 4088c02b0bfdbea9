package io.chainsync.cli;

import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.scanner.JobSpec;

import io.chainsync.stack.LocalStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code chainsync sync}: the whole pipeline in one command. Without addresses it starts a local
 * broker and registry itself; it runs the scanner, planner and copiers in-process, submits the
 * job, waits for it and shuts everything down.
 */
@Command(name = "sync", mixinStandardHelpOptions = true,
        description = {"Reconstructs a chain through the Kafka pipeline, all in this process.",
            "Without --bootstrap-servers/--registry-url it starts a local Kafka and registry itself."})
final class SyncCommand implements Callable<Integer> {

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
        LocalStack stack = null;
        try {
            ClientConfig config;
            if (bootstrapServers == null) {
                stack = LocalStack.start(work.resolve("stack"));
                config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
            } else {
                config = KafkaOptions.config(bootstrapServers, registryUrl, kafkaConfig, registryConfig);
                Reachability.check(config, Duration.ofSeconds(30));
            }
            PipelineTopics topics = config.topics();
            try (EmbeddedPipeline pipeline = EmbeddedPipeline.start(config, work.resolve("planner"), destRoot,
                    copierCount, 4)) {
                try {
                    Jobs.submit(config, topics, job);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(spec.commandLine(), e.getMessage());
                }
                // with --verify the copiers verify each layer once finalized (JobOptions): the job's status says
                return SubmitCommand.awaitJob(spec, config, topics, job.job(),
                        Duration.ofSeconds(jobOptions.timeoutSeconds), progressOptions, outputOptions);
            }
        } finally {
            if (stack != null) {
                stack.close();
            }
            deleteTree(work);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception ignored) {
            // temporary state only
        }
    }
}
