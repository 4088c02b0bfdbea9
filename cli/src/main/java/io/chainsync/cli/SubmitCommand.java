package io.chainsync.cli;

import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.TopicSetup;
import io.chainsync.scanner.JobSpec;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code chainsync submit}: produces a job to {@code chainsync.jobs}. */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Submits a job to the pipeline (layers bottom first); prints its id.")
final class SubmitCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    JobOptions jobOptions;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--dest", required = true, paramLabel = "DIR",
            description = "destination directory, relative to the copiers' --dest-root")
    String dest;

    @Option(names = "--job-id", paramLabel = "ID", description = "job id (default: a random UUID)")
    String jobId;

    @Option(names = "--wait", description = "wait until the job is complete or failed")
    boolean await;

    @Override
    public Integer call() throws Exception {
        JobSpec job = jobOptions.job(spec, jobId, dest);
        ClientConfig config = kafka.config();
        PipelineTopics topics = config.topics();
        TopicSetup.ensure(config, 4, (short) 1);
        try {
            Jobs.submit(config, topics, job);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        spec.commandLine().getOut().println(job.job());
        spec.commandLine().getOut().flush();
        if (!await) {
            return 0;
        }
        return awaitJob(spec, config, topics, job.job(), Duration.ofSeconds(jobOptions.timeoutSeconds));
    }

    /** Waits for a job, printing status changes on stderr; 0 only when it completed. */
    static int awaitJob(CommandSpec spec, ClientConfig config, PipelineTopics topics, String job, Duration timeout) {
        return awaitJob(spec, config, topics, job, 0, timeout);
    }

    /** As {@link #awaitJob(CommandSpec, ClientConfig, PipelineTopics, String, Duration)}, for an attempt or a later one. */
    static int awaitJob(CommandSpec spec, ClientConfig config, PipelineTopics topics, String job, int attempt,
                        Duration timeout) {
        StatusPrinter printer = new StatusPrinter(spec.commandLine().getErr(), StatusPrinter.terminal());
        Optional<JobStatus> last = Jobs.await(config, topics, job, attempt, timeout, status -> {
            if (StatusPrinter.terminal()) {
                printer.print(status);
            }
        });
        if (last.isEmpty()) {
            spec.commandLine().getErr().println("chainsync: job " + job + " did not finish within " + timeout);
            return Main.EXIT_FAILED;
        }
        if (last.get().getState() != JobState.COMPLETE) {
            spec.commandLine().getErr().println("chainsync: job " + job + " failed: " + firstError(last.get()));
            return Main.EXIT_FAILED;
        }
        return 0;
    }

    static String firstError(JobStatus status) {
        if (status.getError() != null) {
            return status.getError();
        }
        return status.getLayers().stream().filter(l -> l.getError() != null).map(l -> l.getError())
                .findFirst().orElse("unknown reason");
    }
}
