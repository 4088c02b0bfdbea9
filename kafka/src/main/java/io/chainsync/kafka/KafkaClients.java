package io.chainsync.kafka;

import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Builds the services' Kafka clients; the only place {@link Properties} are made. */
public final class KafkaClients {

    /** A chunk or a layer scan may take a while: never let the group evict a busy worker for it. */
    public static final Duration MAX_POLL_INTERVAL = Duration.ofHours(1);

    private KafkaClients() {
    }

    /** An idempotent producer (acks=all), large enough for fragmented chunks. */
    public static <K, V> KafkaProducer<K, V> producer(ClientConfig config, Topic<K, V> topic, String clientId) {
        Properties p = config.properties();
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, TopicSetup.MAX_MESSAGE_BYTES);
        ClientOverrides.apply(p, config.extra(), ClientOverrides.PRODUCER);
        return new KafkaProducer<>(p, topic.keySerde().serializer(), topic.valueSerde().serializer());
    }

    /**
     * A group member that reads raw bytes and commits by hand, one record per poll: the
     * {@link RecordLoop} decodes, so that an unreadable record can be told from an unreachable
     * registry.
     */
    public static KafkaConsumer<byte[], byte[]> consumer(ClientConfig config, String groupId, String clientId) {
        Properties p = consumerProperties(config, groupId, clientId);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static Properties consumerProperties(ClientConfig config, String groupId, String clientId) {
        Properties p = config.properties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) MAX_POLL_INTERVAL.toMillis());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, TopicSetup.MAX_MESSAGE_BYTES);
        ClientOverrides.apply(p, config.extra(), ClientOverrides.CONSUMER);
        return p;
    }
}
