package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class RangeTest {

    @Test
    void mergesTouchingOverlappingAndUnsorted() {
        assertEquals(List.of(new Range(0, 30), new Range(40, 50)),
                Range.merge(List.of(new Range(40, 50), new Range(10, 20), new Range(0, 10), new Range(15, 30),
                        new Range(35, 35))));
    }

    @Test
    void firstDifference() {
        List<Range> a = List.of(new Range(65536, 131072), new Range(131072, 196608));
        assertEquals(-1, Range.firstDifference(a, List.of(new Range(65536, 196608))));
        assertEquals(131072, Range.firstDifference(a, List.of(new Range(65536, 131072))));
        assertEquals(0, Range.firstDifference(List.of(new Range(0, 10)), List.of(new Range(5, 10))));
        assertEquals(20, Range.firstDifference(List.of(new Range(0, 10)),
                List.of(new Range(0, 10), new Range(20, 30))));
        assertEquals(0, Range.firstDifference(List.of(), List.of(new Range(0, 1))));
        assertEquals(-1, Range.firstDifference(List.of(), List.of()));
    }

    @Test
    void rejectsNegative() {
        assertThrows(IllegalArgumentException.class, () -> new Range(5, 4));
    }
}
