package io.chainsync.core;

import static io.chainsync.core.DecisionTable.Mode.ALLOCATION_DEPTH;
import static io.chainsync.core.DecisionTable.Mode.BOTTOM_WITHOUT_DEPTH;
import static io.chainsync.core.DecisionTable.Mode.DIRTY_BITMAP;
import static io.chainsync.core.DecisionTable.Mode.FLATTEN;
import static io.chainsync.core.MetaContexts.STATE_HOLE;
import static io.chainsync.core.MetaContexts.STATE_ZERO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DecisionTableTest {

    private static final int DATA = 0;
    private static final int HOLE_ZERO = STATE_HOLE | STATE_ZERO;

    @ParameterizedTest
    @ValueSource(ints = {DATA, STATE_HOLE, STATE_ZERO, STATE_HOLE | STATE_ZERO})
    void absentRangeIsSkippedWhateverBaseAllocationSays(int base) {
        assertEquals(Action.SKIP, DecisionTable.decide(ALLOCATION_DEPTH, base, 0));
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 7, 1000})
    void rangeFromABackingLayerIsSkipped(int depth) {
        for (int base : new int[] {DATA, STATE_HOLE, STATE_ZERO, HOLE_ZERO}) {
            assertEquals(Action.SKIP, DecisionTable.decide(ALLOCATION_DEPTH, base, depth));
        }
    }

    @Test
    void localZeroClusterReportedAsHoleZeroIsWrittenAsZero() {
        // the trap: exactly what an absent cluster looks like in base:allocation
        assertEquals(Action.ZERO, DecisionTable.decide(ALLOCATION_DEPTH, HOLE_ZERO, 1));
    }

    @Test
    void localZeroWithoutHoleIsZero() {
        assertEquals(Action.ZERO, DecisionTable.decide(ALLOCATION_DEPTH, STATE_ZERO, 1));
    }

    @Test
    void localDataIsData() {
        assertEquals(Action.DATA, DecisionTable.decide(ALLOCATION_DEPTH, DATA, 1));
    }

    @Test
    void localHoleWithoutZeroMustBeRead() {
        assertEquals(Action.DATA, DecisionTable.decide(ALLOCATION_DEPTH, STATE_HOLE, 1));
    }

    @Test
    void bottomWithoutDepthCopiesDataAndSkipsZeroes() {
        assertEquals(Action.DATA, DecisionTable.decide(BOTTOM_WITHOUT_DEPTH, DATA, 0));
        assertEquals(Action.SKIP, DecisionTable.decide(BOTTOM_WITHOUT_DEPTH, HOLE_ZERO, 0));
        assertEquals(Action.SKIP, DecisionTable.decide(BOTTOM_WITHOUT_DEPTH, STATE_ZERO, 0));
        assertEquals(Action.DATA, DecisionTable.decide(BOTTOM_WITHOUT_DEPTH, STATE_HOLE, 0));
    }

    @Test
    void dirtyBitmapRows() {
        assertEquals(Action.DATA, DecisionTable.decide(DIRTY_BITMAP, DATA, 1));
        assertEquals(Action.ZERO, DecisionTable.decide(DIRTY_BITMAP, HOLE_ZERO, 1), "a trimmed block comes back as zeroes");
        assertEquals(Action.ZERO, DecisionTable.decide(DIRTY_BITMAP, STATE_ZERO, 1));
        assertEquals(Action.DATA, DecisionTable.decide(DIRTY_BITMAP, STATE_HOLE, 1));
        for (int base : new int[] {DATA, STATE_HOLE, STATE_ZERO, HOLE_ZERO}) {
            assertEquals(Action.SKIP, DecisionTable.decide(DIRTY_BITMAP, base, 0));
        }
    }

    @Test
    void modeWithDepthOffered() {
        Set<String> offered = Set.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
        assertEquals(ALLOCATION_DEPTH, DecisionTable.selectMode(false, offered, null));
        assertEquals(ALLOCATION_DEPTH, DecisionTable.selectMode(true, offered, null));
    }

    @Test
    void bottomLayerWithoutDepthIsAllowed() {
        assertEquals(BOTTOM_WITHOUT_DEPTH, DecisionTable.selectMode(true, Set.of(MetaContexts.BASE_ALLOCATION), null));
    }

    @Test
    void upperLayerWithoutDepthIsRefused() {
        NotReproducibleException e = assertThrows(NotReproducibleException.class,
                () -> DecisionTable.selectMode(false, Set.of(MetaContexts.BASE_ALLOCATION), null));
        assertTrue(e.getMessage().contains("qemu:allocation-depth"), e.getMessage());
    }

    @Test
    void missingBaseAllocationIsRefused() {
        assertThrows(NotReproducibleException.class,
                () -> DecisionTable.selectMode(true, Set.of(MetaContexts.ALLOCATION_DEPTH), null));
    }

    @Test
    void dirtyBitmapModeNeedsTheBitmapContext() {
        Set<String> offered = Set.of(MetaContexts.BASE_ALLOCATION, "qemu:dirty-bitmap:b0");
        assertEquals(DIRTY_BITMAP, DecisionTable.selectMode(false, offered, "b0"));
        NotReproducibleException e = assertThrows(NotReproducibleException.class,
                () -> DecisionTable.selectMode(false, offered, "b1"));
        assertTrue(e.getMessage().contains("qemu:dirty-bitmap:b1"), e.getMessage());
    }

    @Test
    void contextsOfEachMode() {
        assertEquals(List.of("base:allocation"), DecisionTable.contexts(BOTTOM_WITHOUT_DEPTH, null));
        assertEquals(List.of("base:allocation", "qemu:allocation-depth"), DecisionTable.contexts(ALLOCATION_DEPTH, null));
        assertEquals(List.of("base:allocation", "qemu:dirty-bitmap:x"), DecisionTable.contexts(DIRTY_BITMAP, "x"));
    }

    @Test
    void requestedContexts() {
        assertEquals(List.of("base:allocation", "qemu:allocation-depth"), DecisionTable.requestedContexts(null));
        assertEquals(List.of("base:allocation", "qemu:dirty-bitmap:x"), DecisionTable.requestedContexts("x"));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 7, 1000})
    void flattenCopiesDataWhateverLayerOfTheChainProvidesIt(int depth) {
        // depth >= 2 is exactly what ALLOCATION_DEPTH skips; FLATTEN must not drop it
        assertEquals(Action.DATA, DecisionTable.decide(FLATTEN, DATA, depth));
        assertEquals(Action.DATA, DecisionTable.decide(FLATTEN, STATE_HOLE, depth), "HOLE alone promises nothing");
        assertEquals(Action.SKIP, DecisionTable.decide(FLATTEN, STATE_ZERO, depth), "nothing below: reads as zero");
        assertEquals(Action.SKIP, DecisionTable.decide(FLATTEN, HOLE_ZERO, depth));
    }

    /** Every mode answers every input with an action; the exhaustive table, mode by mode. */
    @Test
    void everyModeDecidesEveryInput() {
        int[] bases = {DATA, STATE_HOLE, STATE_ZERO, HOLE_ZERO};
        for (DecisionTable.Mode mode : DecisionTable.Mode.values()) {
            for (int base : bases) {
                for (int second = 0; second <= 3; second++) {
                    Action a = DecisionTable.decide(mode, base, second);
                    assertNotNull(a, mode + " " + base + " " + second);
                    boolean zero = (base & STATE_ZERO) != 0;
                    Action expected = switch (mode) {
                        case ALLOCATION_DEPTH -> second != 1 ? Action.SKIP : zero ? Action.ZERO : Action.DATA;
                        case DIRTY_BITMAP -> (second & 1) == 0 ? Action.SKIP : zero ? Action.ZERO : Action.DATA;
                        case BOTTOM_WITHOUT_DEPTH, FLATTEN -> zero ? Action.SKIP : Action.DATA;
                    };
                    assertEquals(expected, a, mode + " base " + base + " second " + second);
                }
            }
        }
    }

    @Test
    void modeProperties() {
        assertTrue(ALLOCATION_DEPTH.exactOwnership());
        assertTrue(DIRTY_BITMAP.exactOwnership());
        assertFalse(BOTTOM_WITHOUT_DEPTH.exactOwnership());
        assertFalse(FLATTEN.exactOwnership());
        assertTrue(ALLOCATION_DEPTH.joinsSecondContext());
        assertTrue(DIRTY_BITMAP.joinsSecondContext());
        assertFalse(BOTTOM_WITHOUT_DEPTH.joinsSecondContext());
        assertFalse(FLATTEN.joinsSecondContext());
        assertEquals(List.of("base:allocation"), DecisionTable.contexts(FLATTEN, null));
    }

    @Test
    void flattenIsChosenOnlyWhenAskedFor() {
        Set<String> withDepth = Set.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
        assertEquals(FLATTEN, DecisionTable.selectMode(true, withDepth, null, true));
        assertEquals(FLATTEN, DecisionTable.selectMode(true, Set.of(MetaContexts.BASE_ALLOCATION), null, true));
        assertEquals(ALLOCATION_DEPTH, DecisionTable.selectMode(true, withDepth, null, false));
        assertEquals(BOTTOM_WITHOUT_DEPTH, DecisionTable.selectMode(true, Set.of(MetaContexts.BASE_ALLOCATION), null,
                false));
    }

    @Test
    void flattenIsRefusedAboveTheBottomWithABitmapOrWithoutBaseAllocation() {
        Set<String> offered = Set.of(MetaContexts.BASE_ALLOCATION, "qemu:dirty-bitmap:b0");
        assertThrows(IllegalArgumentException.class, () -> DecisionTable.selectMode(false, offered, null, true));
        assertThrows(IllegalArgumentException.class, () -> DecisionTable.selectMode(true, offered, "b0", true));
        assertThrows(NotReproducibleException.class,
                () -> DecisionTable.selectMode(true, Set.of(MetaContexts.ALLOCATION_DEPTH), null, true));
    }
}
