package io.chainsync.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Joins a layer's contexts over a range and decides every byte of it: the result tiles
 * {@code [start, end)} exactly, in order, with neighbours of equal action merged.
 */
public final class LayerDecisions {

    private LayerDecisions() {
    }

    /**
     * @param baseAllocation the {@code base:allocation} extents
     * @param second the depth or dirty-bitmap extents; ignored (may be null) for BOTTOM_WITHOUT_DEPTH and FLATTEN
     */
    public static List<Decision> decide(DecisionTable.Mode mode, long start, long end,
                                        List<Extent> baseAllocation, List<Extent> second) {
        return decide(Decider.TABLE, mode, start, end, baseAllocation, second);
    }

    /** As {@link #decide(DecisionTable.Mode, long, long, List, List)} with another decider (tests only). */
    public static List<Decision> decide(Decider decider, DecisionTable.Mode mode, long start, long end,
                                        List<Extent> baseAllocation, List<Extent> second) {
        List<List<Extent>> contexts = mode.joinsSecondContext()
                ? List.of(baseAllocation, second)
                : List.of(baseAllocation);
        List<Decision> out = new ArrayList<>();
        long[] run = {start, start};
        Action[] runAction = {null};
        ExtentSweep.sweep(start, end, contexts, (offset, length, flags) -> {
            Action action = decider.decide(mode, flags[0], flags.length > 1 ? flags[1] : 0);
            if (action != runAction[0]) {
                if (runAction[0] != null) {
                    out.add(new Decision(run[0], run[1] - run[0], runAction[0]));
                }
                runAction[0] = action;
                run[0] = offset;
            }
            run[1] = offset + length;
        });
        if (runAction[0] != null) {
            out.add(new Decision(run[0], run[1] - run[0], runAction[0]));
        }
        return out;
    }
}
