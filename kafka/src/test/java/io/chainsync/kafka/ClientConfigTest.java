package io.chainsync.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientConfigTest {

    private static final Map<String, String> KAFKA = Map.of("security.protocol", "SASL_SSL",
            "sasl.jaas.config", "ScramLoginModule required username=\"u\" password=\"kafka-secret\";");
    private static final Map<String, String> REGISTRY = Map.of(
            "apicurio.registry.request.ssl.truststore.location", "/etc/pki/ca.p12",
            "apicurio.registry.request.ssl.truststore.password", "store-secret",
            "apicurio.auth.username", "alice", "apicurio.auth.password", "registry-secret");

    @Test
    void registrySettingsReachTheSerdesButNotTheKafkaClients() {
        ClientConfig config = new ClientConfig("b:9093", "https://r/apis/registry/v2", KAFKA, REGISTRY);
        Map<String, Object> serde = ((RegistrySerdes) config.serdes()).config();
        REGISTRY.forEach((k, v) -> assertEquals(v, serde.get(k), k));
        assertEquals("https://r/apis/registry/v2", serde.get("apicurio.registry.url"));
        assertTrue(config.properties().keySet().stream().noneMatch(k -> k.toString().startsWith("apicurio.")));
        assertEquals("SASL_SSL", config.properties().get("security.protocol"));
    }

    @Test
    void theWireFormatSettingsCannotBeOverridden() {
        ClientConfig config = new ClientConfig("b:9093", "https://r/apis/registry/v2", Map.of(),
                Map.of("apicurio.registry.headers.enabled", "true"));
        assertEquals(false, ((RegistrySerdes) config.serdes()).config().get("apicurio.registry.headers.enabled"));
    }

    @Test
    void aKafkaSettingInTheRegistryFileIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ClientConfig("b:9093",
                "https://r", Map.of(), Map.of("security.protocol", "SASL_SSL")));
        assertTrue(e.getMessage().contains("security.protocol") && e.getMessage().contains("--kafka-config"),
                e.getMessage());
    }

    @Test
    void aPrivatePipelineHasNoRegistryAndEveryTopicIsPlainAvro() throws Exception {
        ClientConfig config = ClientConfig.privatePipeline("b:9093", PipelineNames.DEFAULT);
        assertFalse(config.hasRegistry());
        PipelineTopics topics = config.topics();
        io.chainsync.avro.JobKey key = new io.chainsync.avro.JobKey("job-1");
        byte[] bytes = topics.jobs().keySerde().serializer().serialize(topics.jobs().name(), key);
        // single-object encoding: marker C3 01, then the schema's fingerprint; nothing registered
        assertEquals((byte) 0xC3, bytes[0]);
        assertEquals((byte) 0x01, bytes[1]);
        assertEquals(key, topics.jobs().keySerde().deserializer().deserialize(topics.jobs().name(), bytes));
        assertTrue(topics.status().valueSerde().serializer() != null);
        SchemaContract.registerOrWarn(config); // nothing to register, nothing to reach: returns at once
        assertThrows(IllegalArgumentException.class, () -> new ClientConfig("b:9093", null, Map.of(),
                Map.of("apicurio.auth.username", "u")), "registry settings without a registry");
        assertThrows(IllegalArgumentException.class, () -> new ClientConfig("b:9093", "ftp://r"));
    }

    @Test
    void toStringNamesSettingsButNoPassword() {
        String s = new ClientConfig("b:9093", "https://r", KAFKA, REGISTRY).toString();
        assertTrue(s.contains("sasl.jaas.config") && s.contains("apicurio.auth.password"), s);
        for (String secret : new String[] {"kafka-secret", "store-secret", "registry-secret"}) {
            assertFalse(s.contains(secret), s);
        }
    }
}
