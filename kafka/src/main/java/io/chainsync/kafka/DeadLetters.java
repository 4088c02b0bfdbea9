package io.chainsync.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead-letter topic: records that can never be read (bad bytes, an unknown schema id, a
 * record beyond the limits) are copied there byte for byte, with where they came from and why in
 * headers, so that the service can go on and nothing is silently lost.
 */
public final class DeadLetters implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(DeadLetters.class);

    public static final String HEADER_TOPIC = "chainsync.dlq.topic";
    public static final String HEADER_PARTITION = "chainsync.dlq.partition";
    public static final String HEADER_OFFSET = "chainsync.dlq.offset";
    public static final String HEADER_REASON = "chainsync.dlq.reason";
    public static final String HEADER_SERVICE = "chainsync.dlq.service";

    private final KafkaProducer<byte[], byte[]> producer;
    private final String service;
    private final String topic;

    public DeadLetters(ClientConfig config, String service) {
        Properties p = config.properties();
        p.put(ProducerConfig.CLIENT_ID_CONFIG, service + "-dead-letters");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, TopicSetup.MAX_MESSAGE_BYTES + (64 << 10));
        this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        this.service = service;
        this.topic = config.names().deadLetters();
    }

    /** Copies the record to the dead-letter topic and waits for the broker's acknowledgement. */
    public void send(ConsumerRecord<byte[], byte[]> record, String reason) throws Exception {
        ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topic, null,
                record.key(), record.value());
        Headers h = out.headers();
        record.headers().forEach(h::add);
        h.add(HEADER_TOPIC, bytes(record.topic()));
        h.add(HEADER_PARTITION, bytes(String.valueOf(record.partition())));
        h.add(HEADER_OFFSET, bytes(String.valueOf(record.offset())));
        h.add(HEADER_REASON, bytes(reason));
        h.add(HEADER_SERVICE, bytes(service));
        producer.send(out).get();
        LOGGER.atWarn().setMessage("record set aside on the dead-letter topic").addKeyValue("topic", record.topic())
                .addKeyValue("partition", record.partition()).addKeyValue("offset", record.offset())
                .addKeyValue("reason", reason).log();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        producer.close();
    }
}
