package io.chainsync.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PipelineNamesTest {

    private static final PipelineNames TEAM = new PipelineNames("team1.", "team1-");

    @Test
    void everyTopicAndGroupCarriesItsPrefix() {
        ClientConfig config = new ClientConfig("b:9092", "http://r/apis/registry/v2", Map.of(), Map.of(), TEAM);
        PipelineTopics topics = config.topics();
        assertEquals(List.of("team1.chainsync.jobs", "team1.chainsync.extents", "team1.chainsync.scans",
                "team1.chainsync.plans", "team1.chainsync.results", "team1.chainsync.status"), topics.names());
        assertEquals("team1.chainsync.dead-letters", TEAM.deadLetters());
        assertTrue(TEAM.topics().containsAll(topics.names()) && TEAM.topics().contains(TEAM.deadLetters()));
        assertEquals(List.of("team1-chainsync-scanner", "team1-chainsync-copier", "team1-chainsync-planner"),
                List.of(TEAM.scannerGroup(), TEAM.copierGroup(), TEAM.plannerApplicationId()));
        assertEquals(List.of("team1.chainsync.jobs-key", "team1.chainsync.jobs-value", "team1.chainsync.status-key",
                "team1.chainsync.status-value"), List.copyOf(SchemaContract.subjects(TEAM).keySet()));
    }

    @Test
    void withoutPrefixesTheNamesAreTheDefaults() {
        ClientConfig config = new ClientConfig("b:9092", "http://r/apis/registry/v2");
        assertEquals(PipelineNames.DEFAULT, config.names());
        assertEquals("chainsync.jobs", config.topics().jobs().name());
        assertEquals("chainsync-copier", config.names().copierGroup());
        assertEquals(PipelineNames.DEFAULT, new PipelineNames(null, null));
    }

    @Test
    void onlyTopicNameCharactersAreAllowed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PipelineNames("a/b", ""));
        assertTrue(e.getMessage().contains("topic prefix 'a/b'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new PipelineNames("", "team 1"));
        assertThrows(IllegalArgumentException.class, () -> new PipelineNames("x".repeat(101), ""));
    }
}
