package io.chainsync.cli;

import io.chainsync.jobs.StatusReader;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.Failures;
import io.chainsync.kafka.PipelineTopics;

import io.chainsync.avro.JobStatus;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code chainsync status}: progress from the status topic and the copier group's lag. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows job progress: per-layer state, bytes and chunks, and the copiers' consumer lag.")
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Parameters(arity = "0..1", paramLabel = "JOB", description = "one job (default: every job)")
    String job;

    @Override
    public Integer call() throws Exception {
        ClientConfig config = kafka.config();
        PipelineTopics topics = config.topics();
        PrintWriter out = spec.commandLine().getOut();
        StatusReader.Lag lag;
        try {
            lag = StatusReader.copierLag(config, topics);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot read the copiers' lag from Kafka at " + config.bootstrapServers()
                    + ": " + Failures.reason(e), e);
        }
        out.println("copier lag: " + lag.pending() + " task records pending (plans end offset " + lag.end()
                + ", committed " + lag.committed() + ")");
        Map<String, JobStatus> all = StatusReader.latest(config, topics);
        StatusPrinter printer = new StatusPrinter(out, StatusPrinter.terminal());
        if (job != null) {
            JobStatus status = all.get(job);
            if (status == null) {
                spec.commandLine().getErr().println("chainsync: no status for job " + job);
                return Main.EXIT_FAILED;
            }
            printer.print(status);
        } else {
            all.values().forEach(printer::print);
        }
        out.flush();
        return 0;
    }
}
