package io.chainsync.scanner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.core.Extent;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExtentAccumulatorTest {

    @Test
    void trimsTheLastExtentToTheEnd() {
        ExtentAccumulator a = new ExtentAccumulator(0, 1000);
        assertEquals(1000, a.add(0, new long[] {600, 4096}, new int[] {0, 3}, 2));
        assertEquals(List.of(new Extent(0, 600, 0), new Extent(600, 400, 3)), a.extents());
        assertTrue(a.complete());
    }

    @Test
    void shortRepliesContinue() {
        ExtentAccumulator a = new ExtentAccumulator(0, 1000);
        assertEquals(100, a.add(0, new long[] {100}, new int[] {1}, 1));
        assertEquals(300, a.add(100, new long[] {300}, new int[] {2}, 1));
        assertEquals(List.of(new Extent(0, 100, 1), new Extent(100, 300, 2)), a.extents());
        assertEquals(400, a.position());
    }

    @Test
    void keepsOnlyWhatLiesBeyondItsPosition() {
        // another context was behind, so the request started before this context's position
        ExtentAccumulator a = new ExtentAccumulator(0, 1000);
        a.add(0, new long[] {500}, new int[] {1}, 1);
        assertEquals(250, a.add(300, new long[] {100, 300, 50}, new int[] {1, 2, 2}, 3));
        assertEquals(List.of(new Extent(0, 500, 1), new Extent(500, 250, 2)), a.extents());
    }

    @Test
    void mergesEqualNeighbours() {
        ExtentAccumulator a = new ExtentAccumulator(0, 1000);
        a.add(0, new long[] {100, 100}, new int[] {3, 3}, 2);
        a.add(200, new long[] {800}, new int[] {3}, 1);
        assertEquals(List.of(new Extent(0, 1000, 3)), a.extents());
    }

    @Test
    void replyLeavingAGapIsRejected() {
        ExtentAccumulator a = new ExtentAccumulator(0, 1000);
        assertThrows(IllegalArgumentException.class, () -> a.add(10, new long[] {100}, new int[] {0}, 1));
    }

    @Test
    void slicesJoinAndMergeAtTheSeam() {
        ExtentAccumulator first = new ExtentAccumulator(0, 100);
        first.add(0, new long[] {100}, new int[] {1}, 1);
        ExtentAccumulator second = new ExtentAccumulator(100, 300);
        second.add(100, new long[] {50, 150}, new int[] {1, 0}, 2);
        ExtentAccumulator all = new ExtentAccumulator(0, 300);
        all.appendAll(first.extents());
        all.appendAll(second.extents());
        assertEquals(List.of(new Extent(0, 150, 1), new Extent(150, 150, 0)), all.extents());
        assertThrows(IllegalArgumentException.class, () -> all.appendAll(List.of(new Extent(400, 1, 0))));
    }
}
