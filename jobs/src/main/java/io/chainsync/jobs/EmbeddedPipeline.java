package io.chainsync.jobs;

import io.chainsync.copier.CopierService;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;
import io.chainsync.kafka.TopicSetup;
import io.chainsync.planner.PlannerService;
import io.chainsync.scanner.ScannerService;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.streams.KafkaStreams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The three services in one process, each on its own thread, against a given Kafka and registry:
 * what {@code chainsync sync} runs, and what the end-to-end tests start.
 */
public final class EmbeddedPipeline implements AutoCloseable {

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final PlannerService planner;
    private final ScannerService scanner;
    private final List<CopierService> copiers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    /** Which services run in this process (the others run elsewhere, e.g. in a test's child process). */
    public enum Role { SCANNER, PLANNER, COPIERS }

    private EmbeddedPipeline(ClientConfig config, Path stateDir, Path destRoot, int copierCount, String prefix,
                             Set<Role> roles) {
        PipelineTopics topics = config.topics();
        this.planner = roles.contains(Role.PLANNER)
                ? PlannerService.create(config, PlannerService.Settings.of(config, stateDir)) : null;
        this.scanner = roles.contains(Role.SCANNER) ? new ScannerService(config, topics, prefix + "-scanner") : null;
        if (!roles.contains(Role.COPIERS)) {
            copierCount = 0;
        }
        for (int i = 0; i < copierCount; i++) {
            copiers.add(new CopierService(config, topics, destRoot, prefix + "-copier-" + i));
        }
    }

    /**
     * Creates the topics, starts the planner and waits until it runs, then starts the scanner and
     * {@code copierCount} copier workers.
     */
    public static EmbeddedPipeline start(ClientConfig config, Path stateDir, Path destRoot, int copierCount,
                                         int partitions) {
        return start(config, stateDir, destRoot, copierCount, partitions, EnumSet.allOf(Role.class));
    }

    /** As {@link #start(ClientConfig, Path, Path, int, int)} with only the given services. */
    public static EmbeddedPipeline start(ClientConfig config, Path stateDir, Path destRoot, int copierCount,
                                         int partitions, Set<Role> roles) {
        TopicSetup.ensure(config, partitions, (short) 0); // replication: the broker's default
        io.chainsync.kafka.SchemaContract.registerOrWarn(config);
        EmbeddedPipeline pipeline = new EmbeddedPipeline(config, stateDir, destRoot, copierCount,
                "embedded-" + ProcessHandle.current().pid() + "-" + INSTANCES.incrementAndGet(), roles);
        try {
            if (pipeline.planner != null) {
                pipeline.planner.start();
                if (!pipeline.planner.awaitRunning(Duration.ofSeconds(60))) {
                    throw new IllegalStateException("the planner did not start within 60 s: "
                            + pipeline.planner.state());
                }
            }
            if (pipeline.scanner != null) {
                pipeline.spawn(pipeline.scanner, "chainsync-scanner");
            }
            for (int i = 0; i < pipeline.copiers.size(); i++) {
                pipeline.spawn(pipeline.copiers.get(i), "chainsync-copier-" + i);
            }
            // let the copier group settle, so work spreads over every worker from the first task
            for (CopierService copier : pipeline.copiers) {
                copier.awaitAssignment(Duration.ofSeconds(30));
            }
            if (pipeline.scanner != null) {
                pipeline.scanner.awaitAssignment(Duration.ofSeconds(30));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pipeline.close();
            throw new IllegalStateException("interrupted while starting the planner", e);
        } catch (RuntimeException e) {
            pipeline.close();
            throw e;
        }
        return pipeline;
    }

    private void spawn(Runnable service, String name) {
        Thread t = new Thread(service, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    /** Whether every service still runs: the planner is up and no record loop has ended. */
    public boolean healthy() {
        KafkaStreams.State state = planner == null ? KafkaStreams.State.RUNNING : planner.state();
        boolean plannerUp = state == KafkaStreams.State.RUNNING || state == KafkaStreams.State.REBALANCING;
        return plannerUp && (scanner == null || !scanner.isStopped())
                && copiers.stream().noneMatch(CopierService::isStopped);
    }

    /** Ready: the planner runs, the scanner and at least one copier have partitions and reach the broker. */
    public boolean ready() {
        return (planner == null || planner.ready()) && (scanner == null || scanner.ready())
                && (copiers.isEmpty() || copiers.stream().anyMatch(CopierService::ready));
    }

    /** Copy tasks tried again after a transient failure, over all copiers. */
    public long retried() {
        return copiers.stream().mapToLong(CopierService::retried).sum();
    }

    @Override
    public void close() {
        if (scanner != null) {
            scanner.close();
        }
        copiers.forEach(CopierService::close);
        if (planner != null) {
            planner.close();
        }
        for (Thread t : threads) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
