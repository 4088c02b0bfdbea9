package io.chainsync.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LayerNamesTest {

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "../x", "a/b", "/etc/passwd", ".hidden", "a\\b"})
    void unsafeNamesAreRefused(String name) {
        assertThrows(IllegalArgumentException.class, () -> LayerNames.validate(name));
    }

    @Test
    void theNameNamesTheFormat() {
        assertEquals(LayerFormat.RAW, LayerNames.format("base.raw"));
        assertEquals("raw", LayerNames.format("base.raw").qemuName());
        assertEquals(LayerFormat.QCOW2, LayerNames.format("top.qcow2"));
        assertEquals(LayerFormat.QCOW2, LayerNames.format("raw"));
        assertEquals("qcow2", LayerFormat.QCOW2.qemuName());
        assertFalse(LayerFormat.RAW.canHaveBacking());
        assertTrue(LayerFormat.QCOW2.canHaveBacking());
    }

    @Test
    void clusterSizes() {
        assertEquals(12, ClusterSizes.bitsOf(4096));
        assertEquals(ClusterSizes.MIN_BITS, ClusterSizes.bitsOf(512));
        assertEquals(ClusterSizes.MAX_BITS, ClusterSizes.bitsOf(2 << 20));
        assertThrows(IllegalArgumentException.class, () -> ClusterSizes.bitsOf(3000));
        assertThrows(IllegalArgumentException.class, () -> ClusterSizes.bitsOf(4 << 20));
        assertThrows(IllegalArgumentException.class, () -> ClusterSizes.bitsOf(256));
    }

    @Test
    void codesAreStable() {
        assertEquals(0, ClusterKind.UNALLOCATED.code());
        assertEquals(1, ClusterKind.ZERO.code());
        assertEquals(2, ClusterKind.DATA.code());
        for (ClusterKind k : ClusterKind.values()) {
            assertEquals(k, ClusterKind.ofCode(k.code()));
        }
        for (Action a : Action.values()) {
            assertEquals(a, Action.ofCode(a.code()));
        }
        assertThrows(IllegalArgumentException.class, () -> ClusterKind.ofCode(3));
        assertThrows(IllegalArgumentException.class, () -> Action.ofCode(-1));
    }
}
