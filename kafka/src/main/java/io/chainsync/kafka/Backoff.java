package io.chainsync.kafka;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: after failed attempt n (from 1) wait a random time between
 * half and all of {@code min(max, initial * 2^(n-1))}, so that retries spread out but an outage
 * of a few seconds is always outlasted by the attempts of {@link #TASKS}. Immutable; {@link #delay(int)} is pure but for the jitter.
 *
 * @param initial the first delay's upper bound
 * @param max the largest delay
 * @param attempts how many attempts a bounded retry makes (the first one included)
 */
public record Backoff(Duration initial, Duration max, int attempts) {

    /** Tasks: 6 attempts, 0.5 s .. 8 s apart (at least 7.75 s, at most 15.5 s in all). */
    public static final Backoff TASKS = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(8), 6);
    /** Waiting for the broker or the registry: forever, 0.5 s .. 30 s apart. */
    public static final Backoff OUTAGE = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), Integer.MAX_VALUE);

    public Backoff {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0 || attempts < 1) {
            throw new IllegalArgumentException("bad backoff " + initial + ".." + max + " x" + attempts);
        }
    }

    /** The upper bound of the delay after failed attempt {@code attempt} (1-based). */
    public Duration ceiling(int attempt) {
        long ms = initial.toMillis();
        for (int i = 1; i < attempt && ms < max.toMillis(); i++) {
            ms *= 2;
        }
        return Duration.ofMillis(Math.min(ms, max.toMillis()));
    }

    /** A jittered delay after failed attempt {@code attempt}, at least half the ceiling. */
    public Duration delay(int attempt) {
        long ceiling = ceiling(attempt).toMillis();
        return Duration.ofMillis(ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling - ceiling / 2 + 1));
    }

    /** Sleeps {@link #delay(int)}. */
    public void pause(int attempt) throws InterruptedException {
        Thread.sleep(delay(attempt).toMillis());
    }

}
