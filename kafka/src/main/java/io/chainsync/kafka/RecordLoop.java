package io.chainsync.kafka;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer loop that handles one record at a time and commits its offset only after the
 * handler returned (the work is durable). A record that cannot be deserialized is reported
 * with its topic, partition and offset and skipped; nothing else is lost.
 */
public abstract class RecordLoop<K, V> implements Runnable, AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(RecordLoop.class);

    private final KafkaConsumer<K, V> consumer;
    private final String topic;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile int assigned;

    protected RecordLoop(KafkaConsumer<K, V> consumer, String topic) {
        this.consumer = consumer;
        this.topic = topic;
    }

    /** Does the work of one record; when it returns, the record's offset is committed. */
    protected abstract void handle(ConsumerRecord<K, V> record) throws Exception;

    @Override
    public void run() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("a record loop runs once");
        }
        try {
            consumer.subscribe(java.util.List.of(topic), new org.apache.kafka.clients.consumer.ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                    assigned = 0;
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                    assigned = consumer.assignment().size();
                }
            });
            while (running.get()) {
                try {
                    for (ConsumerRecord<K, V> record : consumer.poll(Duration.ofMillis(500))) {
                        handle(record);
                        consumer.commitSync(Map.of(new TopicPartition(record.topic(), record.partition()),
                                new OffsetAndMetadata(record.offset() + 1)));
                    }
                } catch (RecordDeserializationException e) {
                    LOGGER.atError().setMessage("skipping a malformed record")
                            .addKeyValue("topic", e.topicPartition().topic())
                            .addKeyValue("partition", e.topicPartition().partition())
                            .addKeyValue("offset", e.offset())
                            .addKeyValue("reason", e.getCause() == null ? e.getMessage() : e.getCause().toString())
                            .log();
                    consumer.seek(e.topicPartition(), e.offset() + 1);
                    consumer.commitSync(Map.of(e.topicPartition(), new OffsetAndMetadata(e.offset() + 1)));
                }
            }
        } catch (WakeupException e) {
            if (running.get()) {
                throw e;
            }
        } catch (Exception e) {
            LOGGER.atError().setMessage("service stopped by an error").setCause(e).log();
            throw e instanceof RuntimeException ? (RuntimeException) e : new IllegalStateException(e);
        } finally {
            try {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
            } finally {
                closed();
                stopped.countDown();
            }
        }
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

    /** Releases what the handler holds; called on the loop's thread once it ends. */
    protected void closed() {
    }

    /** Stops the loop after the record in hand and waits for it. */
    @Override
    public void close() {
        running.set(false);
        if (!started.get()) {
            consumer.close();
            closed();
            return;
        }
        consumer.wakeup();
        try {
            stopped.await(java.util.concurrent.TimeUnit.SECONDS.toMillis(30), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
