package io.chainsync.nbd;

import io.chainsync.nbd.protocol.BlockStatusExtent;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The answer to one {@code NBD_CMD_BLOCK_STATUS}: per negotiated metadata context, the extents starting
 * at {@code offset}, as the server sent them except that adjacent extents with equal flags are merged.
 *
 * <p>Each context's list may cover a different length; it may stop short of the requested length (the
 * caller asks again from where it stopped) and its last extent may reach past it.
 *
 * @param offset where every context's first extent starts
 * @param extents extents by context name
 */
public record BlockStatus(long offset, Map<String, List<BlockStatusExtent>> extents) {

    public BlockStatus {
        Map<String, List<BlockStatusExtent>> copy = new LinkedHashMap<>();
        extents.forEach((name, list) -> {
            if (list.isEmpty()) {
                throw new IllegalArgumentException("no extents for context " + name);
            }
            copy.put(name, List.copyOf(list));
        });
        extents = Collections.unmodifiableMap(copy);
    }

    public Set<String> contexts() {
        return extents.keySet();
    }

    /**
     * The extents of one context.
     *
     * @throws IllegalArgumentException if the context was not negotiated
     */
    public List<BlockStatusExtent> extents(String context) {
        List<BlockStatusExtent> list = extents.get(context);
        if (list == null) {
            throw new IllegalArgumentException("no block status for context '" + context + "'; have " + contexts());
        }
        return list;
    }

    /** Total length the context's extents cover. */
    public long length(String context) {
        long sum = 0;
        for (BlockStatusExtent extent : extents(context)) {
            sum += extent.length();
        }
        return sum;
    }
}
