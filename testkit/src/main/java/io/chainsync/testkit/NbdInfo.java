package io.chainsync.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
    }

    /** {@code nbdinfo --json URI}: the first export's JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> info(String uri) {
        Map<String, Object> doc = Json.parseObject(Exec.run("nbdinfo", "--json", uri).expectSuccess().stdout());
        List<Object> exports = (List<Object>) doc.get("exports");
        return (Map<String, Object>) exports.get(0);
    }

    /** The export size in bytes. */
    public static long size(String uri) {
        return ((Number) info(uri).get("export-size")).longValue();
    }

    /** The meta contexts the server offers, e.g. [base:allocation, qemu:allocation-depth]. */
    @SuppressWarnings("unchecked")
    public static List<String> contexts(String uri) {
        Object c = info(uri).get("contexts");
        return c == null ? List.of() : List.copyOf((List<String>) (List<?>) c);
    }

    /** {@code nbdinfo --json --map=CONTEXT URI} (nbdinfo may merge adjacent equal extents). */
    public static List<Extent> map(String uri, String context) {
        String out = Exec.run("nbdinfo", "--json", "--map=" + context, uri).expectSuccess().stdout();
        List<Extent> r = new ArrayList<>();
        for (Object o : Json.parseArray(out)) {
            Map<?, ?> m = (Map<?, ?>) o;
            r.add(new Extent(((Number) m.get("offset")).longValue(), ((Number) m.get("length")).longValue(),
                    ((Number) m.get("type")).longValue(), String.valueOf(m.get("description"))));
        }
        return r;
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
