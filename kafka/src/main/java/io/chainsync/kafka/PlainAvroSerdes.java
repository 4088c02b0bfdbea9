package io.chainsync.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * Avro binary without a registry: for the planner's internal stores and repartition topics,
 * whose bytes never leave the Streams application, and for topology tests.
 */
public final class PlainAvroSerdes implements SerdeFactory {

    static {
        AvroLimits.install();
    }


    @Override
    public <T extends SpecificRecord> Serde<T> serde(Class<T> type, boolean isKey) {
        return of(type);
    }

    public static <T extends SpecificRecord> Serde<T> of(Class<T> type) {
        Schema schema = SpecificData.get().getSchema(type);
        SpecificDatumWriter<T> writer = new SpecificDatumWriter<>(schema);
        SpecificDatumReader<T> reader = new SpecificDatumReader<>(schema);
        return Serdes.serdeFrom(
                (topic, value) -> {
                    if (value == null) {
                        return null;
                    }
                    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
                    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
                    try {
                        writer.write(value, encoder);
                        encoder.flush();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    return out.toByteArray();
                },
                (topic, bytes) -> {
                    if (bytes == null) {
                        return null;
                    }
                    BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, null);
                    try {
                        return reader.read(null, decoder);
                    } catch (IOException | RuntimeException e) {
                        throw new SerializationException("cannot decode " + type.getSimpleName() + " on " + topic, e);
                    }
                });
    }
}
