package io.chainsync.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class ClusterMapTest {

    private static final long K64 = 65536;

    private static List<Decision> seed() {
        return List.of(
                new Decision(0, K64, Action.SKIP),
                new Decision(K64, K64, Action.DATA),
                new Decision(2 * K64, K64, Action.ZERO),
                new Decision(3 * K64, K64, Action.SKIP));
    }

    @Test
    void seedMapsToOneClusterOfEachKind() {
        List<ClusterRun> runs = ClusterMap.runs(seed(), 16, 0);
        assertEquals(List.of(
                new ClusterRun(0, 1, ClusterKind.UNALLOCATED, -1),
                new ClusterRun(1, 1, ClusterKind.DATA, 0),
                new ClusterRun(2, 1, ClusterKind.ZERO, -1),
                new ClusterRun(3, 1, ClusterKind.UNALLOCATED, -1)), runs);
        assertEquals(1, ClusterMap.dataClusters(runs));
    }

    @Test
    void defaultClusterSizeIs64KWhenTheSourceAllows() {
        assertEquals(16, ClusterMap.chooseClusterBits(ClusterMap.alignment(seed()), OptionalInt.empty()));
        assertEquals(16, ClusterMap.chooseClusterBits(ClusterMap.Alignment.UNCONSTRAINED, OptionalInt.empty()));
    }

    @Test
    void smallerClusterWhenBoundariesAreFiner() {
        List<Decision> d = List.of(new Decision(0, 4096, Action.ZERO), new Decision(4096, 8192, Action.SKIP));
        ClusterMap.Alignment a = ClusterMap.alignment(d);
        assertEquals(12, a.bits());
        assertEquals(4096, a.offset());
        assertEquals(12, ClusterMap.chooseClusterBits(a, OptionalInt.empty()));
    }

    @Test
    void dataZeroBoundaryDoesNotConstrain() {
        List<Decision> d = List.of(new Decision(0, 4096, Action.ZERO), new Decision(4096, K64 - 4096, Action.DATA));
        assertEquals(ClusterSizes.MAX_BITS, ClusterMap.alignment(d).bits());
        assertEquals(List.of(new ClusterRun(0, 1, ClusterKind.DATA, 0)), ClusterMap.runs(d, 16, 0));
    }

    @Test
    void forcedClusterSizeThatCannotBeExactIsRefused() {
        List<Decision> d = List.of(new Decision(0, 4096, Action.DATA), new Decision(4096, 4096, Action.SKIP));
        NotReproducibleException e = assertThrows(NotReproducibleException.class,
                () -> ClusterMap.chooseClusterBits(ClusterMap.alignment(d), OptionalInt.of(16)));
        assertTrue(e.getMessage().contains("4096"), e.getMessage());
        assertEquals(12, ClusterMap.chooseClusterBits(ClusterMap.alignment(d), OptionalInt.of(12)));
        assertEquals(9, ClusterMap.chooseClusterBits(ClusterMap.alignment(d), OptionalInt.of(9)));
    }

    @Test
    void forcedLargerThanDefaultIsHonoured() {
        assertEquals(21, ClusterMap.chooseClusterBits(ClusterMap.Alignment.UNCONSTRAINED, OptionalInt.of(21)));
        assertThrows(IllegalArgumentException.class,
                () -> ClusterMap.chooseClusterBits(ClusterMap.Alignment.UNCONSTRAINED, OptionalInt.of(22)));
    }

    @Test
    void boundaryBelow512IsNotReproducible() {
        List<Decision> d = List.of(new Decision(0, 256, Action.DATA), new Decision(256, 256, Action.SKIP));
        assertThrows(NotReproducibleException.class,
                () -> ClusterMap.chooseClusterBits(ClusterMap.alignment(d), OptionalInt.empty()));
    }

    @Test
    void clusterMixingSkipAndLocalIsRefused() {
        List<Decision> d = List.of(new Decision(0, 4096, Action.DATA), new Decision(4096, K64 - 4096, Action.SKIP));
        assertThrows(NotReproducibleException.class, () -> ClusterMap.runs(d, 16, 0));
    }

    @Test
    void withoutExactOwnershipSkipAndDataShareAClusterAsData() {
        // a raw bottom of 1,000,000 bytes exports 1,000,448: data, then 448 bytes of hole at the end
        List<Decision> d = List.of(new Decision(0, 1_000_000, Action.DATA), new Decision(1_000_000, 448, Action.SKIP));
        assertEquals(ClusterMap.Alignment.UNCONSTRAINED, ClusterMap.alignment(d, false));
        assertThrows(NotReproducibleException.class,
                () -> ClusterMap.chooseClusterBits(ClusterMap.alignment(d), OptionalInt.empty()));
        assertEquals(List.of(new ClusterRun(0, 16, ClusterKind.DATA, 0)), ClusterMap.runs(d, 16, 0, false));
        List<Decision> z = List.of(new Decision(0, 4096, Action.SKIP), new Decision(4096, 4096, Action.ZERO));
        assertEquals(List.of(new ClusterRun(0, 1, ClusterKind.UNALLOCATED, -1)), ClusterMap.runs(z, 16, 0, false));
    }

    @Test
    void partialLastCluster() {
        // virtual size 1000448 = 15 clusters of 64 KiB + 17408 bytes
        List<Decision> d = List.of(new Decision(0, 1_000_448, Action.DATA));
        assertEquals(List.of(new ClusterRun(0, 16, ClusterKind.DATA, 7)), ClusterMap.runs(d, 16, 7));
        List<Decision> tail = List.of(new Decision(0, 983_040, Action.SKIP), new Decision(983_040, 17_408, Action.ZERO));
        assertEquals(List.of(new ClusterRun(0, 15, ClusterKind.UNALLOCATED, -1), new ClusterRun(15, 1, ClusterKind.ZERO, -1)),
                ClusterMap.runs(tail, 16, 0));
    }

    @Test
    void runsOfAChunkStartAtItsOffset() {
        long chunk = 1L << 30;
        List<Decision> d = List.of(new Decision(chunk, 2 * K64, Action.DATA));
        assertEquals(List.of(new ClusterRun(chunk / K64, 2, ClusterKind.DATA, 100)), ClusterMap.runs(d, 16, 100));
    }

    /**
     * Property: with the chosen cluster size, every cluster's kind equals the brute-force kind of
     * its bytes, data indices count DATA clusters in guest order, and the runs tile all clusters.
     */
    @RepeatedTest(300)
    void runsAgreeWithBruteForce(RepetitionInfo info) {
        Random random = new Random(info.getCurrentRepetition());
        int grainBits = 9 + random.nextInt(10);
        long end = 1 + random.nextInt(4 << 20);
        List<Decision> decisions = new ArrayList<>();
        long pos = 0;
        Action previous = null;
        while (pos < end) {
            long len = Math.min(end - pos, ((1 + random.nextInt(8)) << grainBits) - (random.nextInt(4) == 0 ? 512 : 0));
            Action a = Action.values()[random.nextInt(3)];
            if (a == previous || len <= 0) {
                continue;
            }
            decisions.add(new Decision(pos, len, a));
            previous = a;
            pos += len;
        }
        ClusterMap.Alignment alignment = ClusterMap.alignment(decisions);
        int bits = ClusterMap.chooseClusterBits(alignment, OptionalInt.empty());
        long firstData = random.nextInt(1000);
        List<ClusterRun> runs = ClusterMap.runs(decisions, bits, firstData);
        long clusterSize = 1L << bits;
        long clusters = (end + clusterSize - 1) / clusterSize;
        long nextCluster = 0;
        long nextData = firstData;
        for (ClusterRun run : runs) {
            assertEquals(nextCluster, run.firstCluster());
            if (run.kind() == ClusterKind.DATA) {
                assertEquals(nextData, run.firstDataIndex());
                nextData += run.count();
            }
            for (long c = run.firstCluster(); c < run.endCluster(); c++) {
                assertEquals(bruteForceKind(decisions, c * clusterSize, Math.min(end, (c + 1) * clusterSize)), run.kind(),
                        "cluster " + c);
            }
            nextCluster = run.endCluster();
        }
        assertEquals(clusters, nextCluster);
    }

    private static ClusterKind bruteForceKind(List<Decision> decisions, long from, long to) {
        boolean skip = false;
        boolean data = false;
        boolean zero = false;
        for (Decision d : decisions) {
            if (d.end() > from && d.offset() < to) {
                skip |= d.action() == Action.SKIP;
                data |= d.action() == Action.DATA;
                zero |= d.action() == Action.ZERO;
            }
        }
        if (skip && (data || zero)) {
            throw new AssertionError("chosen cluster size is not exact at " + from);
        }
        return skip ? ClusterKind.UNALLOCATED : data ? ClusterKind.DATA : ClusterKind.ZERO;
    }
}
