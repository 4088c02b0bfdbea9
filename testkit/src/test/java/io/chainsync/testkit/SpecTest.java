package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class SpecTest {

    @Test
    void aloneSpecMatchesDesign() {
        assertEquals("json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"/x/top.qcow2\"}}",
                QemuImg.aloneSpec(Path.of("/x/top.qcow2"), "qcow2"));
        assertEquals("json:{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"/x/b.raw\"}}",
                QemuImg.aloneSpec(Path.of("/x/b.raw"), "raw"));
    }

    @Test
    void roundUp512() {
        assertEquals(1_000_448, QemuImg.roundUp512(1_000_000));
        assertEquals(512, QemuImg.roundUp512(512));
        assertEquals(0, QemuImg.roundUp512(0));
    }

    @Test
    void destinationNamingConvention() {
        assertEquals("raw", Layer.formatForName("base.raw"));
        assertEquals("qcow2", Layer.formatForName("base.img"));
        Chain c = new Chain(Path.of("/s"), java.util.List.of(new Layer("base.img", Path.of("/s/base.img"), "raw"),
                new Layer("top", Path.of("/s/top"), "qcow2")));
        Chain d = c.expectedIn(Path.of("/d"));
        assertEquals(new Layer("base.img", Path.of("/d/base.img"), "qcow2"), d.bottom());
        assertEquals(Path.of("/d/top"), d.top().path());
    }
}
