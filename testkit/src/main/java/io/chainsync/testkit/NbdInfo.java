package io.chainsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code nbdinfo} (libnbd) as an independent NBD client, for cross-checking servers and our own
 * client: export size, meta contexts offered, and block-status maps.
 */
public final class NbdInfo {

    private NbdInfo() {
    }

    /**
     * One extent from {@code nbdinfo --json --map=CONTEXT}.
     *
     * @param offset      start
     * @param length      bytes
     * @param type        the context's flags/value (base:allocation: bit0 HOLE, bit1 ZERO;
     *                    qemu:allocation-depth: the depth; dirty bitmap: 1 = dirty)
     * @param description nbdinfo's text, e.g. "hole,zero", "local", "backing depth 2"
     */
    public record Extent(long offset, long length, long type, String description) {
        public Range range() {
            return Range.ofLength(offset, length);
        }

        /** The extents of an {@code nbdinfo --json --map} document, in its order. */
        static List<Extent> listFromJson(JsonNode array) {
            if (!array.isArray()) {
                throw new IllegalStateException("nbdinfo --map: expected a JSON array: "
                        + Exec.abbreviate(array.toString()));
            }
            List<Extent> r = new ArrayList<>();
            for (JsonNode e : array) {
                r.add(new Extent(e.required("offset").asLong(), e.required("length").asLong(),
                        e.required("type").asLong(), e.path("description").asText("null")));
            }
            return r;
        }
    }

    /** {@code nbdinfo --json URI}: the first export's JSON object. */
    public static JsonNode info(String uri) {
        return firstExport(Exec.run("nbdinfo", "--json", uri).expectSuccess().json());
    }

    /** The first element of an {@code nbdinfo --json} document's {@code exports}. */
    static JsonNode firstExport(JsonNode doc) {
        return doc.required("exports").required(0);
    }

    /** The export size in bytes. */
    public static long size(String uri) {
        return info(uri).required("export-size").asLong();
    }

    /** The meta contexts the server offers, e.g. [base:allocation, qemu:allocation-depth]. */
    public static List<String> contexts(String uri) {
        return contexts(info(uri));
    }

    /** The {@code contexts} of one export object (empty when absent). */
    static List<String> contexts(JsonNode export) {
        List<String> r = new ArrayList<>();
        for (JsonNode c : export.path("contexts")) {
            r.add(c.asText());
        }
        return List.copyOf(r);
    }

    /** {@code nbdinfo --json --map=CONTEXT URI} (nbdinfo may merge adjacent equal extents). */
    public static List<Extent> map(String uri, String context) {
        return Extent.listFromJson(Exec.run("nbdinfo", "--json", "--map=" + context, uri).expectSuccess().json());
    }

    /**
     * The context value at every {@code unit}-sized block (value at the block's first byte), e.g.
     * {@code [0, 1, 1, 0]} for the seed top's allocation depth with 64 KiB units.
     */
    public static List<Long> perUnit(List<Extent> extents, long size, long unit) {
        List<Long> r = new ArrayList<>();
        for (long off = 0; off < size; off += unit) {
            Long v = null;
            for (Extent e : extents) {
                if (off >= e.offset() && off < e.offset() + e.length()) {
                    v = e.type();
                    break;
                }
            }
            r.add(v);
        }
        return r;
    }
}
