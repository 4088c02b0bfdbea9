package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class SizesTest {

    @Test
    void suffixesAreBinary() {
        assertEquals(65536, Sizes.parse("64k"));
        assertEquals(65536, Sizes.parse("64K"));
        assertEquals(65536, Sizes.parse("64KiB"));
        assertEquals(2L << 20, Sizes.parse("2M"));
        assertEquals(1L << 30, Sizes.parse("1G"));
        assertEquals(1L << 30, Sizes.parse("1g"));
        assertEquals(3L << 40, Sizes.parse("3T"));
        assertEquals(12345, Sizes.parse("12345"));
        assertEquals(512, Sizes.parse("512B"));
    }

    @Test
    void nonsenseIsRefused() {
        assertThrows(TypeConversionException.class, () -> Sizes.parse("64x"));
        assertThrows(TypeConversionException.class, () -> Sizes.parse("k"));
        assertThrows(TypeConversionException.class, () -> Sizes.parse("-1M"));
        assertThrows(TypeConversionException.class, () -> Sizes.parse("1.5G"));
        assertThrows(TypeConversionException.class, () -> Sizes.parse("99999999999T"));
    }

    @Test
    void etaAndDurations() {
        assertEquals("?", TerminalProgress.eta(100, 0));
        assertEquals("0s", TerminalProgress.eta(0, 0));
        assertEquals("10s", TerminalProgress.eta(1000, 100));
        assertEquals("2m05s", Sizes.duration(125));
        assertEquals("1h01m", Sizes.duration(3660));
        assertEquals("1.5 GiB", Sizes.human(1.5 * (1L << 30)));
    }
}
