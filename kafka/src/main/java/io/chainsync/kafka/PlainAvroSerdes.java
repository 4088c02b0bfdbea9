package io.chainsync.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
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
 * Avro without a registry, for what never leaves the pipeline: its internal topics
 * ({@code chainsync.extents}, {@code .scans}, {@code .plans}, {@code .results}), the planner's
 * stores and repartition topics. Records are in Avro's single-object encoding: the marker
 * {@code C3 01}, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer's schema
 * (parsing canonical form), then the Avro binary. A reader knows exactly one schema per type, so
 * bytes that are not such a record (garbage, another encoding) or that were written with another
 * schema (another version of chainsync) are refused with a {@link SerializationException} naming
 * the fingerprint, never decoded into something else.
 */
public final class PlainAvroSerdes implements SerdeFactory {

    static {
        AvroLimits.install();
    }

    /** The single-object encoding's marker. */
    static final byte MARKER_0 = (byte) 0xC3;
    static final byte MARKER_1 = 0x01;
    /** Marker and fingerprint. */
    static final int HEADER = 10;

    @Override
    public <T extends SpecificRecord> Serde<T> serde(Class<T> type, boolean isKey) {
        return of(type);
    }

    /** The CRC-64-AVRO fingerprint of a schema's parsing canonical form, as the encoding carries it. */
    public static long fingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    static String hex(long fingerprint) {
        return HexFormat.of().toHexDigits(fingerprint);
    }

    public static <T extends SpecificRecord> Serde<T> of(Class<T> type) {
        Schema schema = SpecificData.get().getSchema(type);
        long fingerprint = fingerprint(schema);
        byte[] header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN)
                .put(MARKER_0).put(MARKER_1).putLong(fingerprint).array();
        SpecificDatumWriter<T> writer = new SpecificDatumWriter<>(schema);
        SpecificDatumReader<T> reader = new SpecificDatumReader<>(schema);
        String name = type.getSimpleName();
        return Serdes.serdeFrom(
                (topic, value) -> {
                    if (value == null) {
                        return null;
                    }
                    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
                    out.writeBytes(header);
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
                    if (bytes.length < HEADER || bytes[0] != MARKER_0 || bytes[1] != MARKER_1) {
                        throw new SerializationException("not a " + name + " on " + topic
                                + ": not Avro single-object encoding (no C3 01 marker; " + bytes.length + " bytes)");
                    }
                    long found = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                    if (found != fingerprint) {
                        throw new SerializationException("not a " + name + " on " + topic + ": schema fingerprint "
                                + hex(found) + " is not this version's " + name + " (" + hex(fingerprint) + ")");
                    }
                    BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, HEADER, bytes.length - HEADER, null);
                    try {
                        T value = reader.read(null, decoder);
                        if (!decoder.isEnd()) {
                            throw new IOException((bytes.length - HEADER) + " bytes hold more than one " + name);
                        }
                        return value;
                    } catch (IOException | RuntimeException e) {
                        throw new SerializationException("cannot decode " + name + " (schema fingerprint "
                                + hex(fingerprint) + ") on " + topic + ": " + e, e);
                    }
                });
    }
}
