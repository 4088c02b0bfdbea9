package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DestinationsTest {

    @Test
    void relativeDestinationsStayInsideTheRoot() {
        assertEquals(Path.of("/root/vm1/top.qcow2"), Destinations.resolve(Path.of("/root"), "vm1", "top.qcow2"));
        assertEquals(Path.of("/root/top.qcow2"), Destinations.resolve(Path.of("/root"), ".", "top.qcow2"));
        assertEquals(Path.of("/root/a/b/top.qcow2"), Destinations.resolve(Path.of("/root"), "/root/a/b", "top.qcow2"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../x", "/etc", "vm1/../../x", "/rootx"})
    void destinationsOutsideTheRootAreRefused(String dest) {
        assertThrows(IllegalArgumentException.class, () -> Destinations.resolve(Path.of("/root"), dest, "top.qcow2"));
    }

    @Test
    void layerNamesCannotEscape() {
        assertThrows(IllegalArgumentException.class, () -> Destinations.resolve(Path.of("/root"), "vm1", "../x"));
    }
}
