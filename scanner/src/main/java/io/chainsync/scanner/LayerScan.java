package io.chainsync.scanner;

import io.chainsync.core.Extent;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The block status of one layer over {@code [start, end)}: per negotiated context, sorted and
 * contiguous extents that tile the range exactly, equal neighbours merged.
 *
 * @param size the export size
 * @param offered the metadata contexts the server agreed to
 */
public record LayerScan(long size, Set<String> offered, long start, long end, Map<String, List<Extent>> extents) {

    public LayerScan {
        offered = Set.copyOf(offered);
        extents = Map.copyOf(extents);
    }

    public List<Extent> of(String context) {
        List<Extent> list = extents.get(context);
        if (list == null) {
            throw new IllegalArgumentException("context " + context + " was not scanned");
        }
        return list;
    }

    public long extentCount() {
        return extents.values().stream().mapToLong(List::size).sum();
    }
}
