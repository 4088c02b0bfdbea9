package io.chainsync.core;

import java.util.List;
import java.util.OptionalInt;

/**
 * Everything needed to write one destination layer: its virtual size, the exact cluster size
 * and every cluster's kind, with data clusters numbered in guest order.
 */
public record LayerPlan(long virtualSize, int clusterBits, List<Decision> decisions, List<ClusterRun> runs) {

    public LayerPlan {
        decisions = List.copyOf(decisions);
        runs = List.copyOf(runs);
    }

    /**
     * Decides a whole layer from its scanned contexts and maps it onto exact clusters.
     *
     * @param second the depth or dirty-bitmap extents (null for BOTTOM_WITHOUT_DEPTH)
     * @param forcedClusterBits an explicit cluster size, refused when it cannot be exact
     * @throws NotReproducibleException when the layer cannot be written exactly
     */
    public static LayerPlan of(DecisionTable.Mode mode, long virtualSize, List<Extent> baseAllocation,
                               List<Extent> second, OptionalInt forcedClusterBits) {
        return of(Decider.TABLE, mode, virtualSize, baseAllocation, second, forcedClusterBits);
    }

    /** As {@link #of(DecisionTable.Mode, long, List, List, OptionalInt)} with another decider (tests only). */
    public static LayerPlan of(Decider decider, DecisionTable.Mode mode, long virtualSize, List<Extent> baseAllocation,
                               List<Extent> second, OptionalInt forcedClusterBits) {
        List<Decision> decisions = LayerDecisions.decide(decider, mode, 0, virtualSize, baseAllocation, second);
        boolean exact = mode.exactOwnership();
        int bits = ClusterMap.chooseClusterBits(ClusterMap.alignment(decisions, exact), forcedClusterBits);
        return new LayerPlan(virtualSize, bits, decisions, ClusterMap.runs(decisions, bits, 0, exact));
    }

    public long clusterSize() {
        return 1L << clusterBits;
    }

    public long dataClusters() {
        return ClusterMap.dataClusters(runs);
    }

    /** Bytes to read from the source: DATA clusters, the last one clipped to the virtual size. */
    public long dataBytes() {
        return ClusterMap.dataBytes(runs, clusterBits, virtualSize);
    }
}
