package io.chainsync.kafka;

import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary), with schemas
 * kept in an Apicurio registry and registered on first use under {@code TOPIC-key} /
 * {@code TOPIC-value}.
 */
public final class RegistrySerdes implements SerdeFactory {

    static {
        AvroLimits.install();
    }


    private final Map<String, Object> config;

    public RegistrySerdes(String registryUrl) {
        this(registryUrl, Map.of());
    }

    /**
     * @param extra further serde settings: the registry client's trust store and authentication
     *              ({@link ClientConfig#registry()}); the wire-format settings below always win
     */
    public RegistrySerdes(String registryUrl, Map<String, ?> extra) {
        Map<String, Object> c = new HashMap<>(extra);
        c.put(SerdeConfig.REGISTRY_URL, registryUrl);
        c.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, true);
        c.put(SerdeConfig.ENABLE_HEADERS, false);
        c.put(SerdeConfig.ID_HANDLER, "io.apicurio.registry.serde.Legacy4ByteIdHandler");
        c.put(SerdeConfig.USE_ID, "contentId");
        c.put(AvroKafkaSerdeConfig.USE_SPECIFIC_AVRO_READER, true);
        this.config = Map.copyOf(c);
    }

    public Map<String, Object> config() {
        return config;
    }

    @Override
    public <T extends SpecificRecord> Serde<T> serde(Class<T> type, boolean isKey) {
        @SuppressWarnings("unchecked")
        Serializer<T> serializer = (Serializer<T>) (Serializer<?>) new AvroKafkaSerializer<>();
        @SuppressWarnings("unchecked")
        Deserializer<T> deserializer = (Deserializer<T>) (Deserializer<?>) new AvroKafkaDeserializer<>();
        serializer.configure(config, isKey);
        deserializer.configure(config, isKey);
        return Serdes.serdeFrom(serializer, deserializer);
    }
}
