package io.chainsync.kafka;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;

/** Makes the serde of one Avro type, for keys or for values of a topic. */
public interface SerdeFactory {

    <T extends SpecificRecord> Serde<T> serde(Class<T> type, boolean isKey);
}
