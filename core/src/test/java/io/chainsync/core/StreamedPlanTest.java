package io.chainsync.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/**
 * The streamed plan ({@link DecisionStream} → {@link LayerShape}, then {@link ClusterRunStream})
 * equals the whole-layer plan ({@link LayerPlan#of}), whatever order the contexts' extents arrive in.
 */
class StreamedPlanTest {

    @RepeatedTest(300)
    void streamedPlanEqualsTheWholeLayerPlan(RepetitionInfo info) {
        Random random = new Random(info.getCurrentRepetition());
        int grain = 512 << random.nextInt(6); // boundaries on 512 B .. 16 KiB
        long end = grain * (1L + random.nextInt(2000)) - (random.nextBoolean() ? 0 : 512 * random.nextInt(grain / 512));
        List<Extent> base = randomContext(random, end, grain, 4);
        List<Extent> depth = randomContext(random, end, grain, 3);
        for (DecisionTable.Mode mode : DecisionTable.Mode.values()) {
            LayerPlan whole;
            try {
                whole = LayerPlan.of(mode, end, base, depth, OptionalInt.empty());
            } catch (NotReproducibleException e) {
                continue; // the shape refuses the same layers: checked below through the alignment
            }
            List<Decision> decisions = new ArrayList<>();
            stream(random, mode, end, base, depth, decisions::add);
            assertEquals(whole.decisions(), decisions, "decisions, mode " + mode);

            LayerShape shape = new LayerShape(0, end, mode.exactOwnership());
            decisions.forEach(shape::accept);
            int bits = ClusterMap.chooseClusterBits(shape.alignment(), OptionalInt.empty());
            assertEquals(whole.clusterBits(), bits, "cluster size, mode " + mode);
            assertEquals(whole.dataClusters(), shape.dataClusters(bits), "data clusters, mode " + mode);
            assertEquals(whole.dataBytes(), shape.dataBytes(bits), "data bytes, mode " + mode);

            List<ClusterRun> runs = new ArrayList<>();
            ClusterRunStream stream = new ClusterRunStream(bits, 0, end, 0, mode.exactOwnership(), runs::add);
            decisions.forEach(stream::accept);
            stream.finish();
            assertEquals(whole.runs(), runs, "runs, mode " + mode);
            assertEquals(whole.dataClusters(), stream.nextDataIndex());
        }
    }

    @Test
    void aGapInAContextIsRefused() {
        DecisionStream s = new DecisionStream(Decider.TABLE, DecisionTable.Mode.ALLOCATION_DEPTH, 0, 4096, d -> { });
        s.offer(0, new Extent(0, 1024, 0));
        assertThrows(IllegalArgumentException.class, () -> s.offer(0, new Extent(2048, 1024, 0)));
        s.offer(1, new Extent(0, 4096, 1));
        assertThrows(IllegalArgumentException.class, s::finish, "context 0 stops short");
    }

    @Test
    void aClusterMixingSkipAndLocalIsRefused() {
        ClusterRunStream s = new ClusterRunStream(16, 0, 1 << 17, 0, true, r -> { });
        s.accept(new Decision(0, 4096, Action.SKIP));
        assertThrows(NotReproducibleException.class, () -> s.accept(new Decision(4096, (1 << 17) - 4096, Action.DATA)));
    }

    /** Offers the contexts' extents interleaved at random, as replies of different lengths would. */
    static void stream(Random random, DecisionTable.Mode mode, long end, List<Extent> base, List<Extent> depth,
                       java.util.function.Consumer<Decision> out) {
        DecisionStream s = new DecisionStream(Decider.TABLE, mode, 0, end, out);
        List<List<Extent>> contexts = DecisionStream.contextCount(mode) == 1 ? List.of(base) : List.of(base, depth);
        int[] next = new int[contexts.size()];
        while (true) {
            List<Integer> open = new ArrayList<>();
            for (int c = 0; c < contexts.size(); c++) {
                if (next[c] < contexts.get(c).size()) {
                    open.add(c);
                }
            }
            if (open.isEmpty()) {
                break;
            }
            int c = open.get(random.nextInt(open.size()));
            for (int k = 1 + random.nextInt(5); k > 0 && next[c] < contexts.get(c).size(); k--) {
                s.offer(c, contexts.get(c).get(next[c]++));
            }
        }
        s.finish();
    }

    static List<Extent> randomContext(Random random, long end, int grain, int maxValue) {
        List<Extent> out = new ArrayList<>();
        long pos = 0;
        while (pos < end) {
            long len = (long) grain * (1 + random.nextInt(random.nextBoolean() ? 4 : 300));
            if (random.nextInt(20) == 0) {
                len = 512L * (1 + random.nextInt(8)); // an odd, smaller boundary now and then
            }
            out.add(new Extent(pos, len, random.nextInt(maxValue)));
            pos += len;
        }
        return out;
    }
}
