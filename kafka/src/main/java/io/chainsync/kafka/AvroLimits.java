package io.chainsync.kafka;

/**
 * Bounds on what one Avro record may claim, so that no record can exhaust memory: a 45-byte
 * record that declares a 2·10⁹-element array is refused by the decoder before anything is
 * allocated. Avro reads these system properties once, when its decoder classes load; every
 * serde of the pipeline calls {@link #install()} first.
 */
public final class AvroLimits {

    /** Largest bytes or string value: a record is at most {@link TopicSetup#MAX_MESSAGE_BYTES} anyway. */
    public static final int MAX_BYTES = TopicSetup.MAX_MESSAGE_BYTES;
    /** Most items in one array or map: a chunk's runs, bounded by the record size. */
    public static final int MAX_ITEMS = 4 << 20;

    private AvroLimits() {
    }

    public static void install() {
        System.setProperty("org.apache.avro.limits.bytes.maxLength", String.valueOf(MAX_BYTES));
        System.setProperty("org.apache.avro.limits.string.maxLength", String.valueOf(MAX_BYTES));
        System.setProperty("org.apache.avro.limits.collectionItems.maxLength", String.valueOf(MAX_ITEMS));
    }
}
