package io.chainsync.cli;

import io.chainsync.kafka.ClientConfig;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Asks a running service's broker and registry every few seconds whether they answer: a WARN
 * line when one stops answering (and every minute while it stays away), an INFO line when it is
 * back. A Kafka client itself retries silently, so without this a service whose broker is gone
 * says nothing for minutes. Readiness is false while either is away.
 */
final class OutageWatch implements AutoCloseable {

    private static final Duration PERIOD = Duration.ofSeconds(10);
    private static final long REPEAT_NANOS = Duration.ofMinutes(1).toNanos();

    private final ClientConfig config;
    private final String role;
    private final ScheduledExecutorService timer;
    private volatile boolean kafkaUp = true;
    private volatile boolean registryUp = true;
    private long kafkaWarned;
    private long registryWarned;

    private OutageWatch(ClientConfig config, String role) {
        this.config = config;
        this.role = role;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "chainsync-" + role + "-outage-watch");
            t.setDaemon(true);
            return t;
        });
    }

    static OutageWatch start(ClientConfig config, String role) {
        OutageWatch watch = new OutageWatch(config, role);
        watch.timer.scheduleWithFixedDelay(watch::check, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        return watch;
    }

    boolean reachable() {
        return kafkaUp && registryUp;
    }

    private void check() {
        String kafkaProblem = null;
        try {
            Reachability.checkKafka(config, Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            kafkaProblem = e.getMessage();
        }
        kafkaUp = report("broker", config.bootstrapServers(), kafkaProblem, kafkaUp, true);
        String registryProblem = null;
        try {
            Reachability.checkRegistry(config, Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            registryProblem = e.getMessage();
        }
        registryUp = report("registry", config.registryUrl(), registryProblem, registryUp, false);
    }

    private boolean report(String what, String address, String problem, boolean wasUp, boolean kafka) {
        long now = System.nanoTime();
        if (problem == null) {
            if (!wasUp) {
                ServiceOptions.OPS.atInfo().setMessage(what + " reachable again").addKeyValue("role", role)
                        .addKeyValue(what, address).log();
            }
            return true;
        }
        long warned = kafka ? kafkaWarned : registryWarned;
        if (wasUp || now - warned >= REPEAT_NANOS) {
            ServiceOptions.OPS.atWarn().setMessage(what + " unreachable; waiting for it").addKeyValue("role", role)
                    .addKeyValue(what, address).addKeyValue("reason", problem).log();
            if (kafka) {
                kafkaWarned = now;
            } else {
                registryWarned = now;
            }
        }
        return false;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
