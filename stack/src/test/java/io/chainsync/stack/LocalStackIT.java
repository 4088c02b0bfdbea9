package io.chainsync.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import io.apicurio.registry.serde.Legacy4ByteIdHandler;
import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real stack: Avro values in Confluent wire format through Apicurio serdes, registry and broker restarts. */
class LocalStackIT {

    private static final String TOPIC = "chainsync.stack-it";
    private static final Schema SCHEMA = new Schema.Parser().parse("""
            {"type": "record", "name": "Probe", "namespace": "io.chainsync.stack.it",
             "fields": [
               {"name": "job", "type": "string"},
               {"name": "chunk", "type": "long"},
               {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["SKIP", "ZERO", "DATA"]}}
             ]}""");

    @TempDir
    Path dir;

    /** The serde settings that give Confluent's wire format: magic 0, 4-byte big-endian content id, no headers. */
    static Map<String, Object> confluentWireFormat(String registryUrl) {
        Map<String, Object> c = new HashMap<>();
        c.put(SerdeConfig.REGISTRY_URL, registryUrl);                 // apicurio.registry.url
        c.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, true);              // apicurio.registry.auto-register
        c.put(SerdeConfig.ENABLE_HEADERS, false);                     // apicurio.registry.headers.enabled
        // 4-byte id; same effect as apicurio.registry.as-confluent=true, without its spurious "Duplicate id-handler" WARN
        c.put(SerdeConfig.ID_HANDLER, Legacy4ByteIdHandler.class.getName()); // apicurio.registry.id-handler
        c.put(SerdeConfig.USE_ID, "contentId");                       // apicurio.registry.use-id
        return c;
    }

    @Test
    void avroRoundTripInConfluentWireFormatSurvivesRestart() throws Exception {
        GenericRecord original = new GenericData.Record(SCHEMA);
        original.put("job", "job-1");
        original.put("chunk", 42L);
        original.put("kind", new GenericData.EnumSymbol(SCHEMA.getField("kind").schema(), "ZERO"));

        String bootstrap;
        String registryUrl;
        int schemaId;
        long registryPid;
        try (LocalStack stack = LocalStack.start(dir)) {
            System.out.printf("stack start %d ms (broker %d ms, registry %d ms) %s%n", stack.startTime().toMillis(),
                    stack.broker().startTime().toMillis(), stack.registry().startTime().toMillis(), stack.describe());
            bootstrap = stack.bootstrapServers();
            registryUrl = stack.registryUrl();
            registryPid = stack.registry().pid();
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1))).all().get();
            }

            Map<String, Object> pc = confluentWireFormat(stack.registryUrl());
            pc.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            pc.put(ProducerConfig.ACKS_CONFIG, "all");
            try (KafkaProducer<String, GenericRecord> producer =
                         new KafkaProducer<>(pc, new StringSerializer(), avroSerializer(pc))) {
                producer.send(new ProducerRecord<>(TOPIC, "job-1", original)).get();
            }

            byte[] raw = consumeRawValues(bootstrap, 1).get(0);
            assertEquals(0, raw[0], "magic byte");
            schemaId = ByteBuffer.wrap(raw, 1, 4).getInt();
            assertRegistryKnows(stack, schemaId);
            assertEquals(original, deserialize(stack.registryUrl(), raw));
        }
        assertFalse(ProcessHandle.of(registryPid).map(ProcessHandle::isAlive).orElse(false), "registry child stopped");

        try (LocalStack stack = LocalStack.start(dir)) {
            System.out.printf("stack restart %d ms (broker %d ms, registry %d ms)%n", stack.startTime().toMillis(),
                    stack.broker().startTime().toMillis(), stack.registry().startTime().toMillis());
            assertEquals(bootstrap, stack.bootstrapServers(), "bootstrap address is kept across restarts");
            assertEquals(registryUrl, stack.registryUrl(), "registry URL is kept across restarts");
            byte[] raw = consumeRawValues(stack.bootstrapServers(), 1).get(0);
            assertEquals(schemaId, ByteBuffer.wrap(raw, 1, 4).getInt());
            assertRegistryKnows(stack, schemaId);
            assertEquals(original, deserialize(stack.registryUrl(), raw), "record and schema survive a restart");
        }
    }

    private static AvroKafkaSerializer<GenericRecord> avroSerializer(Map<String, Object> config) {
        AvroKafkaSerializer<GenericRecord> s = new AvroKafkaSerializer<>();
        s.configure(config, false);
        return s;
    }

    private static GenericRecord deserialize(String registryUrl, byte[] raw) {
        try (AvroKafkaDeserializer<GenericRecord> d = new AvroKafkaDeserializer<>()) {
            d.configure(confluentWireFormat(registryUrl), false);
            return d.deserialize(TOPIC, raw);
        }
    }

    /** The id is a content id of the Apicurio API and a schema id of the Confluent-compatible API. */
    private static void assertRegistryKnows(LocalStack stack, int id) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> byContent = http.send(HttpRequest.newBuilder(
                URI.create(stack.registryUrl() + "/ids/contentIds/" + id)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, byContent.statusCode(), byContent.body());
        assertEquals(SCHEMA, new Schema.Parser().parse(byContent.body()));
        HttpResponse<String> ccompat = http.send(HttpRequest.newBuilder(
                URI.create(stack.confluentCompatUrl() + "/schemas/ids/" + id)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ccompat.statusCode(), ccompat.body());
        assertTrue(ccompat.body().contains("Probe"), ccompat.body());
    }

    private static List<byte[]> consumeRawValues(String bootstrap, int expected) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + System.nanoTime());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<byte[]> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer =
                     new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(TOPIC));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                }
            }
        }
        assertEquals(expected, out.size(), "records consumed");
        return out;
    }
}
