package io.chainsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One entry of {@code qemu-img map --output=json}.
 *
 * @param start   guest offset
 * @param length  bytes
 * @param depth   0 = the opened image itself, N = N-th backing file (with {@code backing:null}
 *                always 0)
 * @param present the opened chain provides these bytes (false = reads as zero because no layer has
 *                them); with {@code backing:null} this is exactly "this layer owns the range"
 * @param zero    reads as zeroes
 * @param data    has host data (false for zero clusters and holes)
 * @param offset  host offset in the file at {@code depth}, or {@code null} when not reported
 */
public record MapEntry(long start, long length, int depth, boolean present, boolean zero, boolean data,
                       Long offset) {

    /**
     * The entries of a {@code qemu-img map --output=json} document, in its order. A missing
     * {@code present} means true (qemu before 6.0 did not print it); missing {@code zero}/{@code data}
     * mean false.
     *
     * @throws IllegalStateException when the document is not an array
     * @throws IllegalArgumentException when an entry lacks start, length or depth
     */
    static List<MapEntry> listFromJson(JsonNode array) {
        if (!array.isArray()) {
            throw new IllegalStateException("qemu-img map: expected a JSON array: " + Exec.abbreviate(array.toString()));
        }
        List<MapEntry> entries = new ArrayList<>();
        for (JsonNode e : array) {
            JsonNode off = e.get("offset");
            entries.add(new MapEntry(e.required("start").asLong(), e.required("length").asLong(),
                    e.required("depth").asInt(), e.path("present").asBoolean(true), e.path("zero").asBoolean(false),
                    e.path("data").asBoolean(false), off == null || off.isNull() ? null : off.asLong()));
        }
        return entries;
    }

    /** {@code [start, start+length)}. */
    public Range range() {
        return Range.ofLength(start, length);
    }
}
