package io.chainsync.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLHandshakeException;

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
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The secure stack: a broker reachable only over SASL_SSL with the SCRAM user it wrote into {@code client.properties},
 * a registry reachable only over HTTPS with the CA it wrote into {@code registry.properties}; both kept on restart.
 */
@Timeout(240)
class SecureStackIT {

    private static final String TOPIC = "chainsync.secure-it";
    private static final Schema SCHEMA = new Schema.Parser().parse("""
            {"type": "record", "name": "SecureProbe", "namespace": "io.chainsync.stack.it",
             "fields": [{"name": "job", "type": "string"}]}""");

    @TempDir
    Path dir;

    @Test
    void onlyTheWrittenCredentialsGetInAndARestartKeepsThem() throws Exception {
        GenericRecord probe = new GenericData.Record(SCHEMA);
        probe.put("job", "secure-1");
        String bootstrap;
        String registryUrl;
        Map<String, Object> clientFile;
        Map<String, Object> registryFile;
        try (LocalStack stack = LocalStack.start(LocalStack.Settings.defaults(dir).withSecure(true))) {
            System.out.printf("secure stack start %d ms (broker %d ms, registry %d ms) %s%n",
                    stack.startTime().toMillis(), stack.broker().startTime().toMillis(),
                    stack.registry().startTime().toMillis(), stack.describe());
            bootstrap = stack.bootstrapServers();
            registryUrl = stack.registryUrl();
            assertTrue(registryUrl.startsWith("https://"), registryUrl);
            assertTrue(stack.describe().contains("kafka-config=" + stack.kafkaConfigFile()), stack.describe());
            for (Path f : List.of(stack.kafkaConfigFile(), stack.registryConfigFile(),
                    dir.resolve("tls/secrets.properties"), dir.resolve("kafka/server.properties"))) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
            }
            clientFile = read(stack.kafkaConfigFile());
            registryFile = read(stack.registryConfigFile());
            Map<String, Object> kafka = read(stack.kafkaConfigFile());
            assertEquals("SASL_SSL", kafka.get("security.protocol"));

            try (Admin admin = Admin.create(with(kafka, AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get();
            }
            Map<String, Object> serde = serdeConfig(stack.registryUrl(), read(stack.registryConfigFile()));
            Map<String, Object> pc = new HashMap<>(kafka);
            pc.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            try (KafkaProducer<String, GenericRecord> producer =
                         new KafkaProducer<>(pc, new StringSerializer(), serializer(serde))) {
                producer.send(new ProducerRecord<>(TOPIC, "k", probe)).get();
            }

            // a wrong password: refused at once, as an authentication failure
            Map<String, Object> wrong = new HashMap<>(kafka);
            wrong.put("sasl.jaas.config", StackCredentials.scramJaas(StackCredentials.CLIENT_USER, "not-the-password"));
            assertFailsWith(SaslAuthenticationException.class, bootstrap, wrong);
            // no SASL_SSL at all: the listener speaks nothing else
            assertThrows(Exception.class, () -> listTopics(bootstrap, Map.of("security.protocol", "PLAINTEXT")));

            // the registry: HTTPS only, and only with the CA
            HttpClient trusting = HttpClient.newBuilder().sslContext(
                    StackCredentials.ensure(dir.resolve("tls")).sslContext()).build();
            assertEquals(200, trusting.send(HttpRequest.newBuilder(URI.create(stack.registry().baseUrl()
                    + "/health/ready")).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
            assertThrows(SSLHandshakeException.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(stack.registry().baseUrl() + "/health/ready")).build(),
                    HttpResponse.BodyHandlers.discarding()));
            assertThrows(IOException.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(stack.registry().baseUrl().replace("https:", "http:") + "/health/ready"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()));
        }

        try (LocalStack stack = LocalStack.start(LocalStack.Settings.defaults(dir).withSecure(true))) {
            assertEquals(bootstrap, stack.bootstrapServers(), "bootstrap address kept");
            assertEquals(registryUrl, stack.registryUrl(), "registry URL kept");
            assertEquals(clientFile, read(stack.kafkaConfigFile()), "client settings kept");
            assertEquals(registryFile, read(stack.registryConfigFile()), "registry settings kept");
            Map<String, Object> cc = new HashMap<>(read(stack.kafkaConfigFile()));
            cc.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            cc.put(ConsumerConfig.GROUP_ID_CONFIG, "secure-it");
            cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            Map<String, Object> serde = serdeConfig(stack.registryUrl(), read(stack.registryConfigFile()));
            try (KafkaConsumer<String, byte[]> consumer =
                         new KafkaConsumer<>(cc, new StringDeserializer(), new ByteArrayDeserializer());
                 AvroKafkaDeserializer<GenericRecord> deserializer = new AvroKafkaDeserializer<>()) {
                deserializer.configure(serde, false);
                consumer.subscribe(List.of(TOPIC));
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                GenericRecord got = null;
                while (got == null && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        got = deserializer.deserialize(TOPIC, r.value());
                    }
                }
                assertEquals(probe, got, "record readable with the kept credentials after a restart");
            }
        }
        // the directory was made secure: it does not start as a plaintext broker
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> KafkaBroker.start(KafkaBroker.Settings.defaults(dir.resolve("kafka"))));
        assertTrue(e.getMessage().contains("--secure"), e.getMessage());
    }

    private static void assertFailsWith(Class<? extends Throwable> type, String bootstrap, Map<String, Object> config) {
        long t0 = System.nanoTime();
        ExecutionException e = assertThrows(ExecutionException.class, () -> listTopics(bootstrap, config));
        assertTrue(type.isInstance(e.getCause()), "got " + e.getCause());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 10, "not at once");
    }

    private static void listTopics(String bootstrap, Map<String, Object> config) throws Exception {
        Map<String, Object> c = new HashMap<>(config);
        c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 4000);
        try (Admin admin = Admin.create(c)) {
            admin.listTopics().names().get();
        }
    }

    private static Map<String, Object> serdeConfig(String registryUrl, Map<String, Object> registryClient) {
        Map<String, Object> c = new HashMap<>(registryClient);
        c.putAll(LocalStackIT.confluentWireFormat(registryUrl));
        return c;
    }

    private static AvroKafkaSerializer<GenericRecord> serializer(Map<String, Object> config) {
        AvroKafkaSerializer<GenericRecord> s = new AvroKafkaSerializer<>();
        s.configure(config, false);
        return s;
    }

    private static Map<String, Object> with(Map<String, Object> base, String key, Object value) {
        Map<String, Object> m = new HashMap<>(base);
        m.put(key, value);
        return m;
    }

    private static Map<String, Object> read(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        Map<String, Object> m = new HashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }
}
