package io.chainsync.cli;

import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Job control (docs/design.md §3, "Faults"): {@code chainsync retry JOB} and
 * {@code chainsync cancel JOB}. A job that cannot be acted on (unknown, not failed for retry,
 * already ended for cancel) is refused with one line and exit 2, like a reused job id.
 */
final class JobControlCommands {

    private JobControlCommands() {
    }

    /** What both commands take: the pipeline's addresses and one job id. */
    abstract static class OneJob implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Mixin
        KafkaOptions kafka;

        @Parameters(index = "0", paramLabel = "JOB", description = "the job id")
        String job;

        /** Runs a job-control action; a refusal is a usage error (one line, exit 2). */
        <T> T refusalIsUsageError(Callable<T> action) throws Exception {
            try {
                return action.call();
            } catch (Jobs.JobRefusedException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
    }

    /** {@code chainsync retry}: runs a failed or cancelled job again as its next attempt. */
    @Command(name = "retry", mixinStandardHelpOptions = true,
            description = "Runs a failed or cancelled job again (its next attempt); layers the job already "
                    + "finished are kept, not copied again.")
    static final class Retry extends OneJob {

        @Option(names = "--wait", description = "wait until the job is complete or failed")
        boolean await;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "86400",
                description = "how long to wait for the job (default ${DEFAULT-VALUE})")
        long timeoutSeconds;

        @Override
        public Integer call() throws Exception {
            ClientConfig config = kafka.config();
            PipelineTopics topics = config.topics();
            try (Jobs.Session session = Jobs.Session.open(config, topics)) {
                int attempt = refusalIsUsageError(() -> session.retry(job));
                spec.commandLine().getOut().println(job + " attempt " + attempt);
                spec.commandLine().getOut().flush();
                if (!await) {
                    return 0;
                }
                return SubmitCommand.awaitJob(spec, session, job, attempt, Duration.ofSeconds(timeoutSeconds),
                        new ProgressOptions(), new OutputOptions());
            }
        }
    }

    /** {@code chainsync cancel}: ends a running job. */
    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Cancels a job that has not ended: it becomes FAILED (cancelled), its remaining tasks "
                    + "are skipped and its temporary files removed; 'retry' can run it again.")
    static final class Cancel extends OneJob {

        @Override
        public Integer call() throws Exception {
            ClientConfig config = kafka.config();
            refusalIsUsageError(() -> Jobs.cancel(config, config.topics(), job));
            spec.commandLine().getOut().println(job + " cancelled");
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
