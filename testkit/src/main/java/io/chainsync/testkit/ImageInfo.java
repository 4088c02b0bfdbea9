package io.chainsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The fields of {@code qemu-img info --output=json} the testkit cares about.
 *
 * @param format          "qcow2", "raw", …
 * @param virtualSize     guest-visible size in bytes (qemu rounds raw files up to 512)
 * @param clusterSize     cluster size, or {@code null} (raw)
 * @param backingFile     backing file name as stored in the header, or {@code null}
 * @param backingFormat   backing format as stored in the header, or {@code null}
 * @param extendedL2      qcow2 extended_l2 flag (false for non-qcow2)
 * @param json            the whole parsed document
 */
public record ImageInfo(String format, long virtualSize, Long clusterSize, String backingFile,
                        String backingFormat, boolean extendedL2, JsonNode json) {

    /**
     * The fields of a {@code qemu-img info --output=json} document.
     *
     * @throws IllegalArgumentException when {@code virtual-size} is missing
     */
    static ImageInfo fromJson(JsonNode m) {
        JsonNode cs = m.get("cluster-size");
        return new ImageInfo(m.path("format").textValue(), m.required("virtual-size").asLong(),
                cs == null || cs.isNull() ? null : cs.asLong(), m.path("backing-filename").textValue(),
                m.path("backing-filename-format").textValue(),
                m.at("/format-specific/data/extended-l2").booleanValue(), m);
    }
}
