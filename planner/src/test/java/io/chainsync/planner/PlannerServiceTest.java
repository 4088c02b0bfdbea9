package io.chainsync.planner;

import io.chainsync.kafka.ClientConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class PlannerServiceTest {

    @Test
    void propertiesAreMadeAtTheBoundaryWithExactlyOnce() {
        ClientConfig config = new ClientConfig("broker:9092", "http://registry:8080",
                Map.of("security.protocol", "PLAINTEXT"));
        Properties p = PlannerService.properties(config, new PlannerService.Settings(Path.of("/tmp/planner-state")));
        assertEquals("chainsync-planner", p.get(StreamsConfig.APPLICATION_ID_CONFIG));
        assertEquals(StreamsConfig.EXACTLY_ONCE_V2, p.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
        assertEquals("/tmp/planner-state", p.get(StreamsConfig.STATE_DIR_CONFIG));
        assertEquals("broker:9092", p.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG));
        assertEquals("PLAINTEXT", p.get("security.protocol"));
        new StreamsConfig(p); // every value is one Streams accepts
        assertThrows(IllegalArgumentException.class, () -> new PlannerService.Settings(" ", Path.of("x"), 1));
        assertThrows(IllegalArgumentException.class, () -> new PlannerService.Settings("a", Path.of("x"), 0));
    }
}
