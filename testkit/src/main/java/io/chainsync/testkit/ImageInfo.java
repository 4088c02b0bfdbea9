package io.chainsync.testkit;

import java.util.Map;

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
                        String backingFormat, boolean extendedL2, Map<String, Object> json) {

    @SuppressWarnings("unchecked")
    static ImageInfo fromJson(Map<String, Object> m) {
        boolean ext = false;
        Object fs = m.get("format-specific");
        if (fs instanceof Map<?, ?> f && f.get("data") instanceof Map<?, ?> d
                && Boolean.TRUE.equals(d.get("extended-l2"))) {
            ext = true;
        }
        Object cs = m.get("cluster-size");
        return new ImageInfo((String) m.get("format"), ((Number) m.get("virtual-size")).longValue(),
                cs == null ? null : ((Number) cs).longValue(), (String) m.get("backing-filename"),
                (String) m.get("backing-filename-format"), ext, m);
    }
}
