package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void parsesQemuImgMapOutput() {
        String out = "[{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false},\n"
                + "{ \"start\": 65536, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 327680}]";
        List<Object> l = Json.parseArray(out);
        assertEquals(2, l.size());
        Map<?, ?> second = (Map<?, ?>) l.get(1);
        assertEquals(327680L, second.get("offset"));
        assertEquals(Boolean.TRUE, second.get("present"));
        assertEquals(Boolean.FALSE, ((Map<?, ?>) l.get(0)).get("present"));
    }

    @Test
    void parsesNestingEscapesNumbersAndNull() {
        Map<String, Object> m = Json.parseObject(
                "{\"a\":{\"b\":[1,-2,3.5,1e3]},\"s\":\"x\\\"y\\\\z\\u0041\\n\",\"n\":null,\"t\":true,\"e\":[],\"o\":{}}");
        assertEquals(List.of(1L, -2L, 3.5, 1000.0), ((Map<?, ?>) m.get("a")).get("b"));
        assertEquals("x\"y\\zA\n", m.get("s"));
        assertNull(m.get("n"));
        assertEquals(true, m.get("t"));
        assertEquals(List.of(), m.get("e"));
        assertEquals(Map.of(), m.get("o"));
    }

    @Test
    void quoteRoundTrips() {
        String weird = "/tmp/a \"b\"\\c\n";
        assertEquals(weird, Json.parse(Json.quote(weird)));
    }

    @Test
    void rejectsMalformed() {
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":1"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("[1,]"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{} x"));
        assertThrows(IllegalArgumentException.class, () -> Json.parseArray("{}"));
    }
}
