package io.chainsync.jobs;

import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How long each phase of {@code chainsync sync} takes (start of the stack, topics, services, the
 * job, shutdown): one INFO line per phase on logger {@value #LOGGER_NAME}, shown on the terminal
 * when {@code CHAINSYNC_TIMING_LOG_LEVEL=INFO} (docs/operations.md, "Logs"). {@code at} is the
 * phase's end in milliseconds since the JVM started, so JVM start-up shows as the first phase's
 * {@code at} minus its {@code ms}.
 */
public final class Timing {

    public static final String LOGGER_NAME = "io.chainsync.timing";
    private static final Logger LOGGER = LoggerFactory.getLogger(LOGGER_NAME);

    private Timing() {
    }

    /** A phase's start, for {@link #phase}. */
    public static long start() {
        return System.nanoTime();
    }

    /** Logs that the phase {@code name}, begun at {@code startNanos} ({@link #start()}), has ended. */
    public static void phase(String name, long startNanos) {
        if (!LOGGER.isInfoEnabled()) {
            return;
        }
        long ms = (System.nanoTime() - startNanos) / 1_000_000;
        long at = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
        LOGGER.atInfo().setMessage(name).addKeyValue("ms", ms).addKeyValue("at", at).log();
    }
}
