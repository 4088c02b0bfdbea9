package io.chainsync.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {

    @TempDir
    Path dir;

    @Test
    void brokerPropertiesAreSingleNodeSafe() {
        KafkaBroker.Settings s = KafkaBroker.Settings.defaults(dir).withNumPartitions(6)
                .withOverrides(Map.of("log.retention.hours", "1"));
        Properties p = KafkaBroker.serverProperties(dir, 9092, 9093, s);
        assertEquals("1", p.getProperty("transaction.state.log.replication.factor"));
        assertEquals("1", p.getProperty("transaction.state.log.min.isr"));
        assertEquals("1", p.getProperty("offsets.topic.replication.factor"));
        assertEquals("0", p.getProperty("group.initial.rebalance.delay.ms"));
        assertEquals("false", p.getProperty("auto.create.topics.enable"));
        assertEquals("6", p.getProperty("num.partitions"));
        assertEquals("1", p.getProperty("log.retention.hours"));
        assertEquals("PLAINTEXT://127.0.0.1:9092", p.getProperty("advertised.listeners"));
        assertEquals("127.0.0.1:9093", p.getProperty("controller.quorum.bootstrap.servers"));
    }

    @Test
    void invalidSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> KafkaBroker.Settings.defaults(dir).withNumPartitions(0));
        assertThrows(IllegalArgumentException.class, () -> KafkaBroker.Settings.defaults(dir).withPorts(7000, 7000));
        assertThrows(IllegalArgumentException.class, () -> KafkaBroker.Settings.defaults(dir).withPorts(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SchemaRegistry.Settings(null, null, 0, Duration.ZERO, null));
        assertThrows(IllegalArgumentException.class, () -> LocalStack.Settings.defaults(dir).withNumPartitions(0));
    }

    @Test
    void missingApicurioAppSaysHowToBuildIt() throws Exception {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SchemaRegistry.start(SchemaRegistry.Settings.defaults(null).withHome(empty)));
        assertTrue(e.getMessage().contains("mvn -B -f stack/pom.xml package"), e.getMessage());
        assertTrue(e.getMessage().contains(SchemaRegistry.HOME_ENV), e.getMessage());
    }

    @Test
    void builtAgainstTheRootPomApicurioVersion() {
        assertEquals("2.6.13.Final", SchemaRegistry.apicurioVersion());
    }
}
