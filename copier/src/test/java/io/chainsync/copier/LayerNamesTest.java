package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
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
    void plainNamesResolveInsideTheDirectory() {
        assertEquals(Path.of("/d/top.qcow2"), LayerNames.resolveInside(Path.of("/d"), "top.qcow2"));
    }

    @Test
    void layerSpecParsing() {
        LayerSpec spec = LayerSpec.parse("base.raw=nbd+unix:///?socket=/run/b.sock");
        assertEquals("base.raw", spec.name());
        assertEquals("raw", spec.format());
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.parse("no-uri"));
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.parse("x=http://host/"));
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.parse("../x=nbd://host/e"));
    }

    @Test
    void chainRules() {
        LayerSpec raw = LayerSpec.parse("base.raw=nbd://h/a");
        LayerSpec top = LayerSpec.parse("top.qcow2=nbd://h/b");
        ChainCopier.validate(List.of(raw, top));
        assertThrows(IllegalArgumentException.class, () -> ChainCopier.validate(List.of(top, raw)));
        assertThrows(IllegalArgumentException.class, () -> ChainCopier.validate(List.of(top, top)));
        assertThrows(IllegalArgumentException.class, () -> ChainCopier.validate(List.of()));
    }

    @Test
    void clusterSizeOption() {
        assertEquals(12, CopyOptions.defaults().withClusterSize(4096).clusterBits().getAsInt());
        assertThrows(IllegalArgumentException.class, () -> CopyOptions.defaults().withClusterSize(3000));
        assertThrows(IllegalArgumentException.class, () -> CopyOptions.defaults().withClusterSize(4 << 20));
    }
}
