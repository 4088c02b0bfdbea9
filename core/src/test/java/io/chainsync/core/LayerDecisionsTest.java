package io.chainsync.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class LayerDecisionsTest {

    private static final long K64 = 64 * 1024;

    /** The seed case of docs/design.md §1: top layer "-D0-" served with backing:null. */
    @Test
    void seedTopLayer() {
        List<Extent> base = List.of(
                new Extent(0, K64, 3),
                new Extent(K64, K64, 0),
                new Extent(2 * K64, 2 * K64, 3));
        List<Extent> depth = List.of(
                new Extent(0, K64, 0),
                new Extent(K64, 2 * K64, 1),
                new Extent(3 * K64, K64, 0));
        List<Decision> got = LayerDecisions.decide(DecisionTable.Mode.ALLOCATION_DEPTH, 0, 4 * K64, base, depth);
        assertEquals(List.of(
                new Decision(0, K64, Action.SKIP),
                new Decision(K64, K64, Action.DATA),
                new Decision(2 * K64, K64, Action.ZERO),
                new Decision(3 * K64, K64, Action.SKIP)), got);
    }

    @Test
    void extentsPastTheEndAreClipped() {
        List<Extent> base = List.of(new Extent(0, 10_000, 0));
        List<Extent> depth = List.of(new Extent(0, 4096, 1), new Extent(4096, 1 << 20, 0));
        assertEquals(List.of(new Decision(0, 4096, Action.DATA), new Decision(4096, 4096, Action.SKIP)),
                LayerDecisions.decide(DecisionTable.Mode.ALLOCATION_DEPTH, 0, 8192, base, depth));
    }

    @Test
    void subRangeStartsInsideAnExtent() {
        List<Extent> base = List.of(new Extent(0, 1 << 20, 0));
        List<Extent> depth = List.of(new Extent(0, 1 << 20, 1));
        assertEquals(List.of(new Decision(4096, 8192, Action.DATA)),
                LayerDecisions.decide(DecisionTable.Mode.ALLOCATION_DEPTH, 4096, 12288, base, depth));
    }

    @Test
    void bottomWithoutDepthUsesBaseAllocationOnly() {
        List<Extent> base = List.of(new Extent(0, 4096, 0), new Extent(4096, 4096, 3));
        assertEquals(List.of(new Decision(0, 4096, Action.DATA), new Decision(4096, 4096, Action.SKIP)),
                LayerDecisions.decide(DecisionTable.Mode.BOTTOM_WITHOUT_DEPTH, 0, 8192, base, null));
    }

    /**
     * A disk served with its chain attached: base:allocation alone, whichever layer provides the
     * data; a zero run 4 KiB into a 64 KiB cluster does not constrain the cluster size.
     */
    @Test
    void flattenCopiesEveryDataRangeAndMayMixSkipAndDataInACluster() {
        List<Extent> base = List.of(new Extent(0, K64, 0), new Extent(K64, 4096, 3), new Extent(K64 + 4096,
                K64 - 4096, 0), new Extent(2 * K64, 2 * K64, 3));
        List<Decision> decisions = LayerDecisions.decide(DecisionTable.Mode.FLATTEN, 0, 4 * K64, base, null);
        assertEquals(List.of(new Decision(0, K64, Action.DATA), new Decision(K64, 4096, Action.SKIP),
                new Decision(K64 + 4096, K64 - 4096, Action.DATA), new Decision(2 * K64, 2 * K64, Action.SKIP)),
                decisions);
        LayerPlan plan = LayerPlan.of(DecisionTable.Mode.FLATTEN, 4 * K64, base, null, java.util.OptionalInt.empty());
        assertEquals(16, plan.clusterBits());
        assertEquals(2, plan.dataClusters());
    }

    @Test
    void gapInAContextIsRejected() {
        List<Extent> base = List.of(new Extent(0, 4096, 0), new Extent(8192, 4096, 0));
        List<Extent> depth = List.of(new Extent(0, 12288, 1));
        assertThrows(IllegalArgumentException.class,
                () -> LayerDecisions.decide(DecisionTable.Mode.ALLOCATION_DEPTH, 0, 12288, base, depth));
    }

    @Test
    void shortContextIsRejected() {
        List<Extent> base = List.of(new Extent(0, 4096, 0));
        List<Extent> depth = List.of(new Extent(0, 12288, 1));
        assertThrows(IllegalArgumentException.class,
                () -> LayerDecisions.decide(DecisionTable.Mode.ALLOCATION_DEPTH, 0, 12288, base, depth));
    }

    @Test
    void contextStartingAfterTheRangeIsRejected() {
        List<Extent> base = List.of(new Extent(512, 4096, 0));
        List<Extent> depth = List.of(new Extent(0, 12288, 1));
        assertThrows(IllegalArgumentException.class,
                () -> LayerDecisions.decide(DecisionTable.Mode.ALLOCATION_DEPTH, 0, 4096, base, depth));
    }

    /**
     * Property: for random contexts whose boundaries differ, the decisions tile the range exactly,
     * have no equal neighbours, and agree at every sampled byte with the table applied to the two
     * contexts' values at that byte.
     */
    @RepeatedTest(300)
    void decisionsTileTheRangeAndAgreeWithTheTable(RepetitionInfo info) {
        Random random = new Random(info.getCurrentRepetition());
        long end = 1 + random.nextInt(1 << 20);
        long start = random.nextInt((int) end);
        List<Extent> base = randomContext(random, end, 4);
        List<Extent> depth = randomContext(random, end, 4);
        for (DecisionTable.Mode mode : DecisionTable.Mode.values()) {
            List<Decision> decisions = LayerDecisions.decide(mode, start, end, base, depth);
            long pos = start;
            Action previous = null;
            for (Decision d : decisions) {
                assertEquals(pos, d.offset(), "decisions must be contiguous");
                if (previous != null) {
                    assertEquals(true, previous != d.action(), "equal neighbours must be merged");
                }
                previous = d.action();
                pos = d.end();
            }
            assertEquals(end, pos, "decisions must end at the range end");
            for (int sample = 0; sample < 50; sample++) {
                long at = start + (long) (random.nextDouble() * (end - start));
                Action expected = DecisionTable.decide(mode, valueAt(base, at), valueAt(depth, at));
                assertEquals(expected, actionAt(decisions, at), "at offset " + at + " mode " + mode);
            }
        }
    }

    static List<Extent> randomContext(Random random, long end, int maxValue) {
        List<Extent> out = new ArrayList<>();
        long pos = 0;
        while (pos < end) {
            long len = 1 + random.nextInt(random.nextBoolean() ? 64 : 100_000);
            if (random.nextInt(10) == 0) {
                len += end; // the last extent may run past the end
            }
            out.add(new Extent(pos, len, random.nextInt(maxValue)));
            pos += len;
        }
        return out;
    }

    static int valueAt(List<Extent> extents, long at) {
        for (Extent e : extents) {
            if (e.offset() <= at && at < e.end()) {
                return e.flags();
            }
        }
        throw new AssertionError("no extent at " + at);
    }

    static Action actionAt(List<Decision> decisions, long at) {
        for (Decision d : decisions) {
            if (d.offset() <= at && at < d.end()) {
                return d.action();
            }
        }
        throw new AssertionError("no decision at " + at);
    }
}
