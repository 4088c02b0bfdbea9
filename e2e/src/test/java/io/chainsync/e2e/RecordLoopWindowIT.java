package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.DeadLetters;
import io.chainsync.kafka.KafkaClients;
import io.chainsync.kafka.RecordLoop;
import io.chainsync.kafka.Topic;
import io.chainsync.stack.LocalStack;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RecordLoop} with a window of two records, against a real broker: records are handled two
 * at a time, yet the group's offset never passes a record that is not done, and a record whose
 * handler failed is delivered again, with every record after it, until it is done.
 */
class RecordLoopWindowIT {

    private static final String TOPIC = "window-test";
    private static final String GROUP = "window-test-group";
    private static final int RECORDS = 6;
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);

    @TempDir
    Path tmp;

    @Test
    @Timeout(180)
    void offsetsAreCommittedInOrderAndAFailedRecordIsRedoneWithThoseAfterIt() throws Exception {
        try (LocalStack stack = LocalStack.launch(LocalStack.Settings.defaults(tmp.resolve("stack")).withEphemeral(true))) {
            ClientConfig config = new ClientConfig(stack.bootstrapServers(), stack.registryUrl());
            try (Admin admin = Admin.create(config.adminProperties())) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get();
                Properties p = config.properties();
                try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(),
                        new StringSerializer())) {
                    for (int i = 0; i < RECORDS; i++) {
                        producer.send(new ProducerRecord<>(TOPIC, "k" + i, "v" + i)).get();
                    }
                }
                Window loop = new Window(config);
                Thread thread = new Thread(loop, "window-loop");
                thread.start();
                try {
                    // record 0 is held; record 1 runs beside it and finishes: nothing may be committed yet
                    assertTrue(loop.slowStarted.await(60, TimeUnit.SECONDS), "record 0 was not handled");
                    assertTrue(loop.fastDone.await(30, TimeUnit.SECONDS),
                            "record 1 did not run while record 0 was in hand: no window");
                    Thread.sleep(1000); // time for a wrong commit to reach the broker
                    assertEquals(null, committed(admin), "an offset passed record 0, which is not done");
                    loop.releaseSlow.countDown();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (committed(admin) == null || committed(admin).offset() < RECORDS) {
                        assertTrue(System.nanoTime() < deadline, "not every record was committed: " + committed(admin)
                                + ", done " + loop.done);
                        Thread.sleep(100);
                    }
                } finally {
                    loop.close();
                    thread.join(30_000);
                }
                assertEquals(2, loop.maxInHand.get(), "records in hand at once");
                assertEquals(2, loop.attemptsOf(2), "record 2 failed once, so it is handled twice");
                for (int i = 0; i < RECORDS; i++) {
                    assertTrue(loop.done.contains((long) i), "record " + i + " was never done: " + loop.done);
                }
                // every record after the failed one that was handled beside it is handled again
                // (handlers run side by side, so the order within the redelivered window is free)
                List<Long> order = loop.handled;
                int failedAt = loop.failedAt.get();
                assertTrue(failedAt > 0, "record 2 never failed: " + order);
                assertTrue(order.subList(failedAt, order.size()).containsAll(List.of(2L, 3L, 4L, 5L)),
                        "records after the failed one were not delivered again after it: " + order
                                + " (failed after " + failedAt + " handlings)");
                assertEquals(2, loop.attemptsOf(3), "record 3 ran beside the failed record 2, so it is handled again");
            }
        }
    }

    private static OffsetAndMetadata committed(Admin admin) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets =
                admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get();
        return offsets.get(TP);
    }

    /** Holds record 0 until released, fails record 2 the first time, records every handling. */
    private static final class Window extends RecordLoop<String, String> {
        final CountDownLatch slowStarted = new CountDownLatch(1);
        final CountDownLatch releaseSlow = new CountDownLatch(1);
        final CountDownLatch fastDone = new CountDownLatch(1);
        final CountDownLatch threeStarted = new CountDownLatch(1);
        /** How many handlings had begun when record 2 failed. */
        final AtomicInteger failedAt = new AtomicInteger(-1);
        final AtomicInteger inHand = new AtomicInteger();
        final AtomicInteger maxInHand = new AtomicInteger();
        final List<Long> handled = new CopyOnWriteArrayList<>();
        final Set<Long> done = ConcurrentHashMap.newKeySet();

        Window(ClientConfig config) {
            super(KafkaClients.consumer(config, GROUP, "window-test"),
                    new Topic<>(TOPIC, Serdes.String(), Serdes.String()), new DeadLetters(config, "window-test"),
                    2, "window-test-handler");
        }

        int attemptsOf(long offset) {
            return (int) handled.stream().filter(o -> o == offset).count();
        }

        @Override
        protected void handle(ConsumerRecord<String, String> record) throws Exception {
            int now = inHand.incrementAndGet();
            maxInHand.accumulateAndGet(now, Math::max);
            try {
                long offset = record.offset();
                boolean firstTime = !handled.contains(offset);
                handled.add(offset);
                if (offset == 0) {
                    slowStarted.countDown();
                    if (!releaseSlow.await(60, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("record 0 was never released");
                    }
                } else if (offset == 1) {
                    fastDone.countDown();
                } else if (offset == 2 && firstTime) {
                    // record 3 is taken into the window meanwhile, so it is in hand when record 2 fails
                    if (!threeStarted.await(30, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("record 3 was not handled beside record 2: no window");
                    }
                    failedAt.set(handled.size());
                    throw new java.io.IOException("record 2 fails once");
                } else if (offset == 3) {
                    threeStarted.countDown();
                }
                done.add(offset);
            } finally {
                inHand.decrementAndGet();
            }
        }
    }
}
