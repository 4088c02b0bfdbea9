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
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The three services in one process, each on its own thread, against a given Kafka and registry:
 * what {@code chainsync sync} runs, and what the end-to-end tests start.
 */
public final class EmbeddedPipeline implements AutoCloseable {

    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedPipeline.class);
    /** The group and transactional id the coordinators are first asked about (neither ever exists). */
    private static final String WARM_UP_ID = "chainsync-warm-up";

    private final PlannerService planner;
    private final ScannerService scanner;
    private final List<CopierService> copiers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    /** Which services run in this process (the others run elsewhere, e.g. in a test's child process). */
    public enum Role { SCANNER, PLANNER, COPIERS }

    private EmbeddedPipeline(ClientConfig config, Path stateDir, Path destRoot, int copierCount, String prefix,
                             Set<Role> roles, Admin admin, int internalPartitions) {
        PipelineTopics topics = config.topics();
        long t0 = Timing.start();
        this.planner = roles.contains(Role.PLANNER)
                ? PlannerService.create(config, PlannerService.Settings.of(config, stateDir)) : null;
        Timing.phase("pipeline.planner-built", t0);
        ScannerService scannerService = null;
        try {
            if (planner != null && internalPartitions > 0) {
                // made while the planner joins its group: its first rebalance then finds them ready
                planner.createInternalTopics(admin, internalPartitions).whenComplete((done, e) -> {
                    if (e != null) {
                        LOGGER.atDebug().setMessage("internal topics left to Streams").addKeyValue("reason",
                                e.toString()).log();
                    }
                });
            }
            if (planner != null) {
                // started first: its first rebalance (internal topics, stores) is the longest step of
                // a start, and the other services' clients are built meanwhile
                planner.start();
            }
            scannerService = roles.contains(Role.SCANNER) ? new ScannerService(config, topics, prefix + "-scanner")
                    : null;
            for (int i = 0; roles.contains(Role.COPIERS) && i < copierCount; i++) {
                copiers.add(new CopierService(config, topics, destRoot, prefix + "-copier-" + i));
            }
        } catch (RuntimeException e) {
            closeQuietly(scannerService);
            copiers.forEach(EmbeddedPipeline::closeQuietly);
            closeQuietly(planner);
            throw e;
        }
        this.scanner = scannerService;
    }

    private static void closeQuietly(AutoCloseable service) {
        if (service == null) {
            return;
        }
        try {
            service.close();
        } catch (Exception e) {
            LOGGER.atDebug().setMessage("close after a failed start").setCause(e).log();
        }
    }

    /**
     * Creates the topics ({@code partitions} each, 0: the broker's default; the plans topic at least one per
     * copier), starts the planner, builds and starts the scanner and {@code copierCount} copier workers while it
     * rebalances, and waits until it runs.
     */
    public static EmbeddedPipeline start(ClientConfig config, Path stateDir, Path destRoot, int copierCount,
                                         int partitions) {
        return start(config, stateDir, destRoot, copierCount, partitions, EnumSet.allOf(Role.class));
    }

    /** As {@link #start(ClientConfig, Path, Path, int, int)} with only the given services. */
    public static EmbeddedPipeline start(ClientConfig config, Path stateDir, Path destRoot, int copierCount,
                                         int partitions, Set<Role> roles) {
        return start(config, stateDir, destRoot, copierCount, partitions, roles, () -> { });
    }

    /**
     * As {@link #start(ClientConfig, Path, Path, int, int, Set)}, running {@code meanwhile} on the calling thread
     * once the topics exist and the services are built, while the planner rebalances (e.g. opening the session a
     * job is submitted through); what it throws stops the services and is thrown.
     */
    public static EmbeddedPipeline start(ClientConfig config, Path stateDir, Path destRoot, int copierCount,
                                         int partitions, Set<Role> roles, Runnable meanwhile) {
        long t0 = Timing.start();
        // at least one plans partition per copier, whatever the planner's partitions (its tasks, its stores)
        int plansPartitions = partitions > 0 ? Math.max(partitions, copierCount) : partitions;
        // replication: the broker's default
        Set<String> created = TopicSetup.ensure(config, partitions, plansPartitions, (short) 0);
        Timing.phase("pipeline.topics", t0);
        // the planner's internal topics ahead only when every public topic was made here, with these partitions
        int internalPartitions = created.containsAll(config.names().topics()) ? partitions : 0;
        Admin warmUp = warmUpCoordinators(config);
        try {
            return start(config, stateDir, destRoot, copierCount, roles, warmUp, internalPartitions, meanwhile);
        } finally {
            warmUp.close(Duration.ZERO);
        }
    }

    /**
     * Asks the broker for a group and a transaction coordinator, and returns without waiting for the answer: a
     * fresh broker creates {@code __consumer_offsets} and {@code __transaction_state} on the first such request,
     * so they are made while the services are built rather than when the planner's first transactional producer
     * asks (it then waits for them, retrying). The admin client, closed when the services run, abandons what
     * is still pending.
     */
    private static Admin warmUpCoordinators(ClientConfig config) {
        Admin admin = Admin.create(config.adminProperties());
        admin.listConsumerGroupOffsets(WARM_UP_ID);
        admin.describeTransactions(List.of(WARM_UP_ID));
        return admin;
    }

    private static EmbeddedPipeline start(ClientConfig config, Path stateDir, Path destRoot, int copierCount,
                                          Set<Role> roles, Admin admin, int internalPartitions,
                                          Runnable meanwhile) {
        long t1 = Timing.start();
        EmbeddedPipeline pipeline = new EmbeddedPipeline(config, stateDir, destRoot, copierCount,
                "embedded-" + ProcessHandle.current().pid() + "-" + INSTANCES.incrementAndGet(), roles, admin,
                internalPartitions);
        Timing.phase("pipeline.clients", t1);
        try {
            long t2 = t1; // the planner started as it was built
            if (pipeline.scanner != null) {
                pipeline.spawn(pipeline.scanner, "chainsync-scanner");
            }
            for (int i = 0; i < pipeline.copiers.size(); i++) {
                pipeline.spawn(pipeline.copiers.get(i), "chainsync-copier-" + i);
            }
            // registered while the planner starts and the groups settle (none with no registry)
            long t4 = Timing.start();
            Thread schemas = new Thread(() -> {
                io.chainsync.kafka.SchemaContract.registerOrWarn(config);
                Timing.phase("pipeline.schemas", t4);
            }, "chainsync-schemas");
            schemas.setDaemon(true);
            schemas.start();
            meanwhile.run();
            if (pipeline.planner != null && !pipeline.planner.awaitRunning(Duration.ofSeconds(60))) {
                throw new IllegalStateException("the planner did not start within 60 s: " + pipeline.planner.state());
            }
            Timing.phase("pipeline.planner-running", t2);
            // let the copier group settle, so work spreads over every worker from the first task
            for (CopierService copier : pipeline.copiers) {
                copier.awaitAssignment(Duration.ofSeconds(30));
            }
            if (pipeline.scanner != null) {
                pipeline.scanner.awaitAssignment(Duration.ofSeconds(30));
            }
            Timing.phase("pipeline.groups-assigned", t2);
            schemas.join(); // registerOrWarn is bounded: 10 s per request at most
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

    /**
     * Stops every service, all at once (each finishes or abandons, uncommitted, the record in hand), and waits
     * for them.
     */
    @Override
    public void close() {
        long t0 = Timing.start();
        List<AutoCloseable> services = new ArrayList<>();
        if (scanner != null) {
            services.add(scanner);
        }
        services.addAll(copiers);
        if (planner != null) {
            services.add(planner);
        }
        List<Thread> closers = new ArrayList<>();
        for (AutoCloseable service : services) {
            Thread t = new Thread(() -> {
                try {
                    service.close();
                } catch (Exception e) {
                    LOGGER.atWarn().setMessage("a service did not close cleanly").addKeyValue("reason", e.toString())
                            .log();
                }
            }, "chainsync-close");
            t.start();
            closers.add(t);
        }
        try {
            for (Thread t : closers) {
                t.join(); // each close is bounded (30 s at most)
            }
            for (Thread t : threads) {
                t.join(10_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        Timing.phase("pipeline.close", t0);
    }
}
