package io.chainsync.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer loop that handles one record at a time and commits its offset only after the
 * handler returned (the work is durable). Nothing is ever skipped because something is away:
 * <ul>
 *   <li>The loop decodes the record itself. When the registry cannot be reached, it waits with
 *       backoff and decodes again. A record that can never be read (bad bytes, an unknown schema
 *       id, a record beyond {@link AvroLimits}) is copied to the {@link DeadLetters} topic with
 *       the reason, and the loop goes on.</li>
 *   <li>A handler that throws has not finished: the record is delivered again after a backoff
 *       (the handler turns what can never succeed into a result of its own, so what it throws is
 *       an outage: the broker or registry away).</li>
 *   <li>When the topic is idle, the group's position is committed as it stands, past the
 *       transaction markers of exactly-once producers, so that an idle group's lag is zero.</li>
 * </ul>
 * An {@link Error} ends the loop and is rethrown: the process must exit, never linger.
 *
 * <p><b>A window of records.</b> A loop made with a window of {@code n > 1} hands up to {@code n}
 * records to {@link #handle} at once, on threads of its own, while it goes on polling: the work of
 * one record (e.g. a chunk's reads) overlaps the tail of another's (its flush). Offsets are still
 * committed in order: a partition's offset moves past a record only once it and every record
 * before it in the partition are done. When a record is not done (its handler threw), the loop
 * waits for the rest of the window, commits each partition up to its first record not done, seeks
 * back there and delivers from there again after the backoff; records after it that were done are
 * handled again, so a windowed handler must be idempotent (as every handler is, since a crash
 * redelivers too). Before the loop commits an idle topic's positions, runs {@link #idle}, gives up
 * partitions in a rebalance or stops, it waits for the window to empty.
 */
public abstract class RecordLoop<K, V> implements Runnable, AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(RecordLoop.class);

    static {
        AvroLimits.install();
    }

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Topic<K, V> topic;
    private final DeadLetters deadLetters;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final AtomicBoolean started = new AtomicBoolean();
    private final Map<TopicPartition, Long> committed = new HashMap<>();
    private volatile int assigned;
    /** Whether the last poll reached the broker (cleared while it is away). */
    private volatile boolean polling;
    private final AutoCloseable clientMetrics;
    /** The records handed to {@link #handle} and not yet reaped, in the order they were polled. */
    private final java.util.ArrayDeque<InFlight> window = new java.util.ArrayDeque<>();
    private final int windowSize;
    /** Runs the handlers of a window of more than one record; null: they run on the loop's thread. */
    private final java.util.concurrent.ExecutorService handlers;
    /** The record each handler thread has in hand, for {@link #refuse}. */
    private final ThreadLocal<ConsumerRecord<byte[], byte[]>> current = new ThreadLocal<>();

    /** A record handed to its handler; {@code outcome} completes with what it threw, or null. */
    private record InFlight(TopicPartition tp, long offset, java.util.concurrent.CompletableFuture<Throwable> outcome) {
    }

    /** A loop that handles one record at a time, on its own thread. */
    protected RecordLoop(KafkaConsumer<byte[], byte[]> consumer, Topic<K, V> topic, DeadLetters deadLetters) {
        this(consumer, topic, deadLetters, 1, "record-loop");
    }

    /**
     * A loop that handles up to {@code windowSize} records at once (see the class comment).
     *
     * @param threadName the name of the handler threads (when {@code windowSize > 1})
     */
    protected RecordLoop(KafkaConsumer<byte[], byte[]> consumer, Topic<K, V> topic, DeadLetters deadLetters,
                         int windowSize, String threadName) {
        if (windowSize < 1) {
            throw new IllegalArgumentException("the window holds at least one record");
        }
        this.consumer = consumer;
        this.topic = topic;
        this.deadLetters = deadLetters;
        this.clientMetrics = ServiceMetrics.bind(consumer);
        this.windowSize = windowSize;
        this.handlers = windowSize == 1 ? null : java.util.concurrent.Executors.newFixedThreadPool(windowSize, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Ready: the loop runs, its last poll reached the broker and the group assigned it
     * partitions (a member beyond the partition count stands by, not ready).
     */
    public boolean ready() {
        return started.get() && running.get() && stopped.getCount() > 0 && polling && assigned > 0;
    }

    /** Does the work of one record; when it returns, the record's offset is committed. */
    protected abstract void handle(ConsumerRecord<K, V> record) throws Exception;

    /** Whether the loop has been asked to stop. */
    protected boolean stopping() {
        return !running.get();
    }

    @Override
    public void run() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("a record loop runs once");
        }
        try {
            consumer.subscribe(List.of(topic.name()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    assigned = 0;
                    try {
                        drain(); // what is done is committed while the partitions are still this member's
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    partitions.forEach(committed::remove);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    assigned = consumer.assignment().size();
                }
            });
            while (running.get()) {
                if (!reapDone()) {
                    continue; // sought back after a record not done
                }
                ConsumerRecords<byte[], byte[]> records = poll();
                if (records.isEmpty()) {
                    // an idle topic: the window empties before positions are committed and housekeeping runs
                    if (!reap(0)) {
                        continue; // sought back after a record not done
                    }
                    commitIdlePositions();
                    try {
                        idle();
                    } catch (RuntimeException e) {
                        throw e;
                    } catch (Exception e) {
                        LOGGER.atWarn().setMessage("housekeeping failed").addKeyValue("reason", Failures.reason(e)).log();
                    }
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> raw : records) {
                    if (!running.get() || !process(raw)) {
                        break;
                    }
                }
            }
        } catch (WakeupException e) {
            if (running.get()) {
                throw e;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            LOGGER.atError().setMessage("service stopped by an error").addKeyValue("topic", topic.name())
                    .setCause(e).log();
            throw e;
        } finally {
            awaitWindow();
            if (handlers != null) {
                handlers.shutdown();
            }
            try {
                consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
            } catch (RuntimeException e) {
                LOGGER.atDebug().setMessage("consumer close").setCause(e).log();
            } finally {
                try {
                    clientMetrics.close();
                } catch (Exception e) {
                    LOGGER.atDebug().setMessage("client metrics close").setCause(e).log();
                }
                closed();
                stopped.countDown();
            }
        }
    }

    /** Polls, riding out a broker that is away. */
    private ConsumerRecords<byte[], byte[]> poll() throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
                polling = true;
                return records;
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                polling = false;
                if (!Failures.isTransient(e) || !running.get()) {
                    throw e;
                }
                waitFor("poll " + topic.name(), e, attempt);
            }
        }
    }

    /**
     * Decodes, handles and commits one record.
     *
     * @return false when the record must be delivered again (the loop has sought back to it)
     */
    private boolean process(ConsumerRecord<byte[], byte[]> raw) throws InterruptedException {
        TopicPartition tp = new TopicPartition(raw.topic(), raw.partition());
        ConsumerRecord<K, V> record;
        try {
            record = decode(raw);
        } catch (RuntimeException e) {
            if (Failures.isTransient(e)) {
                LOGGER.atWarn().setMessage("cannot decode a record yet: the schema registry is unreachable")
                        .addKeyValue("topic", raw.topic()).addKeyValue("offset", raw.offset())
                        .addKeyValue("reason", Failures.reason(e)).log();
                return retryLater(tp, raw.offset());
            }
            if (Failures.isRegistryRefusal(e)) {
                // the client's credentials, not the record, are at fault: stop rather than set records aside
                throw new IllegalStateException("the schema registry refused this client (see --registry-config): "
                        + Failures.reason(e), e);
            }
            // the window empties first: the commit that sets this record aside must not pass a record in it
            java.util.Set<TopicPartition> rewound = drain();
            if (!rewound.isEmpty()) {
                if (!rewound.contains(tp)) {
                    consumer.seek(tp, raw.offset()); // delivered again after the record not done
                }
                return false;
            }
            return setAside(tp, raw, "unreadable record: " + Failures.reason(e));
        }
        java.util.concurrent.CompletableFuture<Throwable> outcome = new java.util.concurrent.CompletableFuture<>();
        window.add(new InFlight(tp, raw.offset(), outcome));
        Runnable work = () -> {
            current.set(raw);
            try {
                handle(record);
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            } finally {
                current.remove();
            }
        };
        if (handlers == null) {
            work.run();
        } else {
            handlers.execute(work);
        }
        return reap(windowSize - 1);
    }

    /**
     * Reaps the window's oldest records, waiting for each, until at most {@code keep} remain;
     * commits each done record's offset.
     *
     * @return false when a record was not done: the loop has sought back (see {@link #drain})
     */
    private boolean reap(int keep) throws InterruptedException {
        while (window.size() > keep) {
            if (!reapHead()) {
                return false;
            }
        }
        return true;
    }

    /** Reaps the records at the head of the window that are done, without waiting. */
    private boolean reapDone() throws InterruptedException {
        while (!window.isEmpty() && window.peek().outcome().isDone()) {
            if (!reapHead()) {
                return false;
            }
        }
        return true;
    }

    /** Reaps the window's oldest record, waiting for it; see {@link #reap}. */
    private boolean reapHead() throws InterruptedException {
        InFlight head = window.peek();
        Throwable failure = outcome(head);
        if (failure == null) {
            window.remove();
            commit(head.tp(), head.offset() + 1);
            attempts = 0;
            return true;
        }
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure instanceof InterruptedException interrupted) {
            throw interrupted;
        }
        if (!running.get()) {
            return false; // abandoned on shutdown: not committed, delivered again
        }
        LOGGER.atWarn().setMessage("record not done, it will be handled again").addKeyValue("topic", head.tp().topic())
                .addKeyValue("partition", head.tp().partition()).addKeyValue("offset", head.offset())
                .addKeyValue("reason", Failures.reason(failure)).setCause(LOGGER.isDebugEnabled() ? failure : null).log();
        drain();
        attempts++;
        pause(attempts);
        return false;
    }

    /** What the record's handler threw, or null; waits for it. */
    private static Throwable outcome(InFlight record) throws InterruptedException {
        try {
            return record.outcome().get();
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause(); // never: outcomes complete normally
        }
    }

    /**
     * Waits for every record in the window; commits each partition up to its first record not done
     * and seeks back to that record, so that it and those after it are delivered again.
     *
     * @return the partitions sought back (empty: every record was done)
     */
    private java.util.Set<TopicPartition> drain() throws InterruptedException {
        java.util.Set<TopicPartition> rewound = new java.util.HashSet<>();
        while (!window.isEmpty()) {
            InFlight record = window.remove();
            Throwable failure = outcome(record);
            if (failure instanceof Error error) {
                throw error;
            }
            if (rewound.contains(record.tp())) {
                continue;
            }
            if (failure == null) {
                commit(record.tp(), record.offset() + 1);
            } else {
                rewound.add(record.tp());
                consumer.seek(record.tp(), record.offset());
            }
        }
        return rewound;
    }

    /**
     * On the way out: waits for every handler still running (before the consumer closes and
     * {@link #closed} releases what handlers use), then commits what they finished, best effort.
     */
    private void awaitWindow() {
        boolean interrupted = false;
        for (InFlight record : window) {
            while (!record.outcome().isDone()) {
                try {
                    record.outcome().get();
                } catch (InterruptedException e) {
                    interrupted = true; // a handler may still use the consumer's resources: wait on
                } catch (java.util.concurrent.ExecutionException e) {
                    break; // never: outcomes complete normally
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        try {
            drain();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOGGER.atDebug().setMessage("commit on the way out").setCause(e).log();
        }
        window.clear();
    }

    private int attempts;

    /**
     * Sets the record in hand aside on the dead-letter topic with the reason (a record that is
     * readable but refused, e.g. a job id already used by another job); call from
     * {@link #handle}, which then returns normally.
     */
    protected void refuse(String reason) throws Exception {
        ConsumerRecord<byte[], byte[]> record = current.get();
        if (record == null) {
            throw new IllegalStateException("refuse is called from handle, on its thread");
        }
        deadLetters.send(record, reason);
    }

    /** Seeks back to the record and waits before it is delivered again. */
    private boolean retryLater(TopicPartition tp, long offset) throws InterruptedException {
        attempts++;
        consumer.seek(tp, offset);
        pause(attempts);
        return false;
    }

    /** Waits a backoff delay, cut short when the loop is asked to stop. */
    private void pause(int attempt) throws InterruptedException {
        stopRequested.await(Backoff.OUTAGE.delay(attempt).toMillis(), TimeUnit.MILLISECONDS);
    }

    private boolean setAside(TopicPartition tp, ConsumerRecord<byte[], byte[]> raw, String reason)
            throws InterruptedException {
        for (int attempt = 1; running.get(); attempt++) {
            try {
                deadLetters.send(raw, reason);
                commit(tp, raw.offset() + 1);
                return true;
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                waitFor("dead-letter topic", e, attempt);
            }
        }
        return false;
    }

    private ConsumerRecord<K, V> decode(ConsumerRecord<byte[], byte[]> raw) {
        K key = raw.key() == null ? null : topic.keySerde().deserializer().deserialize(raw.topic(), raw.headers(), raw.key());
        V value = raw.value() == null ? null
                : topic.valueSerde().deserializer().deserialize(raw.topic(), raw.headers(), raw.value());
        return new ConsumerRecord<>(raw.topic(), raw.partition(), raw.offset(), raw.timestamp(), raw.timestampType(),
                raw.serializedKeySize(), raw.serializedValueSize(), key, value, raw.headers(), raw.leaderEpoch());
    }

    /** Commits, riding out a broker that is away (a lost commit only means a redelivery). */
    private void commit(TopicPartition tp, long offset) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                consumer.commitSync(Map.of(tp, new OffsetAndMetadata(offset)));
                committed.put(tp, offset);
                return;
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                if (!Failures.isTransient(e) || !running.get()) {
                    throw e;
                }
                waitFor("commit", e, attempt);
            }
        }
    }

    /** On an idle topic, commits each partition's position: past transaction markers, so lag reads 0. */
    private void commitIdlePositions() throws InterruptedException {
        for (TopicPartition tp : consumer.assignment()) {
            long position;
            try {
                position = consumer.position(tp, Duration.ofSeconds(5));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                continue;
            }
            Long last = committed.get(tp);
            if (last == null || position > last) {
                if (last == null) {
                    OffsetAndMetadata c;
                    try {
                        c = consumer.committed(java.util.Set.of(tp), Duration.ofSeconds(5)).get(tp);
                    } catch (org.apache.kafka.common.errors.TimeoutException e) {
                        continue;
                    }
                    if (c != null && c.offset() >= position) {
                        committed.put(tp, c.offset());
                        continue;
                    }
                }
                commit(tp, position);
            }
        }
    }

    private void waitFor(String what, Exception e, int attempt) throws InterruptedException {
        LOGGER.atWarn().setMessage("waiting for Kafka").addKeyValue("operation", what).addKeyValue("attempt", attempt)
                .addKeyValue("reason", Failures.reason(e)).log();
        pause(attempt);
    }

    /**
     * Waits until this member has partitions of its topic assigned (the group has settled around
     * it), or the timeout passes.
     *
     * @return whether partitions are assigned
     */
    public boolean awaitAssignment(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (assigned == 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        return assigned > 0;
    }

    /** Called on the loop's thread when a poll returned nothing: housekeeping. */
    protected void idle() throws Exception {
    }

    /** Releases what the handler holds; called on the loop's thread once it ends. */
    protected void closed() {
        deadLetters.close();
    }

    /** Stops the loop after the record in hand (or abandons it uncommitted) and waits for it. */
    @Override
    public void close() {
        running.set(false);
        stopRequested.countDown();
        if (!started.get()) {
            consumer.close();
            closed();
            return;
        }
        consumer.wakeup();
        try {
            stopped.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the loop has ended. */
    public boolean isStopped() {
        return stopped.getCount() == 0;
    }
}
