package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
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
    void specsQuoteAnyPath() {
        Path weird = Path.of("/tmp/a \"b\"\\c\n");
        String alone = QemuImg.aloneSpec(weird, "qcow2");
        assertTrue(alone.startsWith("json:"), alone);
        JsonNode a = Exec.parseJson(alone.substring("json:".length()), "aloneSpec");
        assertEquals(weird.toString(), a.at("/file/filename").textValue());
        assertTrue(a.get("backing").isNull(), alone);
        JsonNode c = Exec.parseJson(QemuImg.chainSpec(weird, "qcow2").substring("json:".length()), "chainSpec");
        assertEquals(weird.toString(), c.at("/file/filename").textValue());
        assertEquals("qcow2", c.get("driver").textValue());
        assertFalse(c.has("backing"));
    }

    @Test
    void roundUp512() {
        assertEquals(1_000_448, QemuImg.roundUp512(1_000_000));
        assertEquals(512, QemuImg.roundUp512(512));
        assertEquals(0, QemuImg.roundUp512(0));
    }

    @Test
    void destinationNamingConvention() {
        assertEquals(new Layer("base.raw", Path.of("/d/base.raw"), "raw"), Layer.inDir(Path.of("/d"), "base.raw"));
        assertEquals("qcow2", Layer.inDir(Path.of("/d"), "base.img").format());
        assertTrue(Layer.inDir(Path.of("/d"), "base.raw").isRaw());
        assertFalse(Layer.inDir(Path.of("/d"), "top.qcow2").isRaw());
        Chain c = new Chain(Path.of("/s"), java.util.List.of(new Layer("base.img", Path.of("/s/base.img"), "raw"),
                new Layer("top", Path.of("/s/top"), "qcow2")));
        Chain d = c.expectedIn(Path.of("/d"));
        assertEquals(new Layer("base.img", Path.of("/d/base.img"), "qcow2"), d.bottom());
        assertEquals(Path.of("/d/top"), d.top().path());
    }
}
