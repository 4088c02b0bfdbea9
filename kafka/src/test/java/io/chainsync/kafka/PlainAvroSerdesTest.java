package io.chainsync.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.LayerKey;
import java.util.Arrays;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;

class PlainAvroSerdesTest {

    private static final Serde<ChunkKey> CHUNK_KEY = PlainAvroSerdes.of(ChunkKey.class);

    @Test
    void recordsAreAvroSingleObjectEncoded() throws Exception {
        ChunkKey key = new ChunkKey("job", 1, 7L);
        byte[] bytes = CHUNK_KEY.serializer().serialize("t", key);
        // Avro's own single-object decoder reads them, and they are exactly its encoding
        assertEquals(key, ChunkKey.getDecoder().decode(bytes));
        assertArrayEquals(ChunkKey.getEncoder().encode(key).array(), bytes);
        assertEquals(key, CHUNK_KEY.deserializer().deserialize("t", bytes));
    }

    @Test
    void bytesOfAnotherSchemaAreRefusedNamingTheFingerprint() {
        byte[] layer = PlainAvroSerdes.of(LayerKey.class).serializer().serialize("t", new LayerKey("job", 1));
        SerializationException e = assertThrows(SerializationException.class,
                () -> CHUNK_KEY.deserializer().deserialize("chainsync.plans", layer));
        String fingerprint = PlainAvroSerdes.hex(PlainAvroSerdes.fingerprint(LayerKey.getClassSchema()));
        assertTrue(e.getMessage().contains("fingerprint " + fingerprint) && e.getMessage().contains("chainsync.plans"),
                e.getMessage());
    }

    @Test
    void garbageAndTruncatedRecordsAreRefused() {
        byte[] good = CHUNK_KEY.serializer().serialize("t", new ChunkKey("job", 1, 7L));
        for (byte[] bad : new byte[][] {{1, 2, 3, 4}, {0, 0, 0, 0, 1, 2, 'x'}, Arrays.copyOf(good, 9),
                Arrays.copyOf(good, good.length - 1), Arrays.copyOf(good, good.length + 1)}) {
            assertThrows(SerializationException.class, () -> CHUNK_KEY.deserializer().deserialize("t", bad),
                    Arrays.toString(bad));
        }
    }

    @Test
    void avrosDecoderRefusesOurBytesOfAnotherType() {
        byte[] layer = PlainAvroSerdes.of(LayerKey.class).serializer().serialize("t", new LayerKey("j", 1));
        BinaryMessageDecoder<ChunkKey> decoder = ChunkKey.getDecoder();
        assertThrows(Exception.class, () -> decoder.decode(layer));
    }
}
