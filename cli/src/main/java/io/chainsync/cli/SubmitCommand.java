package io.chainsync.cli;

import io.chainsync.jobs.Jobs;
import io.chainsync.jobs.Timing;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
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

    @Option(names = "--wait", description = "wait until the job is complete (exit 0) or failed (exit 1)")
    boolean await;

    @Mixin
    TopicOptions topicOptions;

    @Mixin
    ProgressOptions progressOptions;

    @Mixin
    OutputOptions outputOptions;

    @Override
    public Integer call() throws Exception {
        JobSpec job = jobOptions.job(spec, jobId, dest);
        checkOutputOptions(spec, progressOptions, outputOptions);
        long t0 = Timing.start();
        ClientConfig config = kafka.config();
        PipelineTopics topics = config.topics();
        Duration probe = Duration.ofSeconds(Math.min(30, Math.max(1, jobOptions.timeoutSeconds)));
        // the broker and registry are asked, and the topics made, while the session's clients are built
        Runnable first = () -> {
            Reachability.check(config, probe);
            Timing.phase("submit.reachable", t0);
            long t1 = Timing.start();
            topicOptions.ensure(config);
            Timing.phase("submit.topics", t1);
        };
        Jobs.Session session = Jobs.Session.open(config, topics, first);
        try {
            Timing.phase("submit.session", t0);
            long t3 = Timing.start();
            try {
                session.submit(job);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            Timing.phase("submit.produce", t3);
            spec.commandLine().getOut().println(job.job());
            spec.commandLine().getOut().flush();
            if (!await) {
                return 0;
            }
            return awaitJob(spec, session, job.job(), 0, Duration.ofSeconds(jobOptions.timeoutSeconds),
                    progressOptions, outputOptions);
        } finally {
            long closing = Timing.start();
            session.close();
            Timing.phase("submit.close", closing);
        }
    }

    /** {@code --progress} and {@code --output} values, checked as usage errors. */
    static void checkOutputOptions(CommandSpec spec, ProgressOptions progress, OutputOptions output) {
        try {
            progress.style();
            output.json();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /**
     * Waits for a job (at this attempt or a later one) through the session's status view, showing
     * its progress on stderr ({@link StatusFollower}); with {@code --output json} prints its final
     * status on stdout. 0 when it completed, 1 when it failed, 3 when it did not end within the
     * timeout.
     */
    static int awaitJob(CommandSpec spec, Jobs.Session session, String job, int attempt, Duration timeout,
                        ProgressOptions progress, OutputOptions output) throws InterruptedException {
        StatusFollower follower = new StatusFollower(spec.commandLine().getErr(), progress.style(), progress.intervalNanos());
        Optional<JobStatus> last = session.await(job, attempt, timeout, follower);
        if (last.isEmpty()) {
            spec.commandLine().getErr().println("chainsync: job " + job + " did not finish within "
                    + Sizes.duration(timeout.toSeconds()));
            return Main.EXIT_UNREACHABLE;
        }
        if (output.json()) {
            OutputOptions.print(spec.commandLine().getOut(), OutputOptions.job(last.get()));
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
