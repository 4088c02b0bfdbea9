package io.chainsync.cli;

import io.chainsync.jobs.StatusReader;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.Failures;
import io.chainsync.kafka.PipelineTopics;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code chainsync status}: progress from the status topic and the copier group's lag. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Shows job progress: per-layer state, bytes and chunks, and the copiers' consumer lag.",
            "Exit status with JOB: 0 complete or still running, 1 failed or unknown, 3 broker or registry unreachable."})
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    OutputOptions outputOptions;

    @Parameters(arity = "0..1", paramLabel = "JOB", description = "one job (default: every job)")
    String job;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "15",
            description = "how long to wait for the broker and registry to answer; past it exit 3 (default ${DEFAULT-VALUE})")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        boolean json;
        try {
            json = outputOptions.json();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        ClientConfig config = kafka.config();
        Reachability.check(config, Duration.ofSeconds(Math.max(1, timeoutSeconds)));
        PipelineTopics topics = config.topics();
        PrintWriter out = spec.commandLine().getOut();
        StatusReader.Lag lag;
        try {
            lag = StatusReader.copierLag(config, topics);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot read the copiers' lag from Kafka at " + config.bootstrapServers()
                    + ": " + Failures.reason(e), e);
        }
        Map<String, JobStatus> all = StatusReader.latest(config, topics);
        List<JobStatus> shown = new ArrayList<>();
        if (job != null) {
            JobStatus status = all.get(job);
            if (status == null) {
                spec.commandLine().getErr().println("chainsync: no status for job " + job);
                return Main.EXIT_FAILED;
            }
            shown.add(status);
        } else {
            shown.addAll(all.values());
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("copierLag", Map.of("pending", lag.pending(), "plansEndOffset", lag.end(), "committed", lag.committed()));
            doc.put("jobs", shown.stream().map(OutputOptions::job).toList());
            OutputOptions.print(out, doc);
        } else {
            out.println("copier lag: " + lag.pending() + " task records pending (plans end offset " + lag.end()
                    + ", committed " + lag.committed() + ")");
            StatusPrinter printer = new StatusPrinter(out, StatusPrinter.terminal());
            shown.forEach(printer::print);
        }
        out.flush();
        return job != null && shown.get(0).getState() == JobState.FAILED ? Main.EXIT_FAILED : 0;
    }
}
