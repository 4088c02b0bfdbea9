package io.chainsync.planner;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorSupplier;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Forwards a value only when it differs from the last one forwarded for its key (by a SHA-256
 * fingerprint of its serialized bytes, kept in a named store). Table updates re-fire on every
 * upstream update, including redelivered duplicates; this keeps each distinct plan to one record
 * on {@code chainsync.plans}, so a copier never redoes a chunk, nor a finalized layer, because of a
 * duplicate upstream.
 */
final class Deduplicator<K, V> implements FixedKeyProcessorSupplier<K, V, V> {

    private final String storeName;
    private final Serde<V> valueSerde;

    Deduplicator(String storeName, Serde<V> valueSerde) {
        this.storeName = Objects.requireNonNull(storeName, "storeName");
        this.valueSerde = Objects.requireNonNull(valueSerde, "valueSerde");
    }

    @Override
    public FixedKeyProcessor<K, V, V> get() {
        return new FixedKeyProcessor<>() {
            private FixedKeyProcessorContext<K, V> context;
            private KeyValueStore<K, Long> fingerprints;
            private final Serializer<V> serializer = valueSerde.serializer();

            @Override
            public void init(FixedKeyProcessorContext<K, V> context) {
                this.context = context;
                this.fingerprints = context.getStateStore(storeName);
            }

            @Override
            public void process(FixedKeyRecord<K, V> record) {
                if (record.value() == null) {
                    return;
                }
                long fingerprint = fingerprint(serializer.serialize(storeName, record.value()));
                Long last = fingerprints.get(record.key());
                if (last != null && last == fingerprint) {
                    return;
                }
                fingerprints.put(record.key(), fingerprint);
                context.forward(record);
            }
        };
    }

    static long fingerprint(byte[] bytes) {
        try {
            return ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(bytes)).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
