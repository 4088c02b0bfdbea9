package io.chainsync.scanner;

import io.chainsync.core.LayerFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.chainsync.avro.SyncJob;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JobSpecTest {

    private static final LayerSpec RAW = LayerSpec.parse("base.raw=nbd://h/a");
    private static final LayerSpec TOP = LayerSpec.parse("top.qcow2=nbd://h/b");

    @Test
    void layerSpecParsing() {
        LayerSpec spec = LayerSpec.parse("base.raw=nbd+unix:///?socket=/run/b.sock");
        assertEquals("base.raw", spec.name());
        assertEquals(LayerFormat.RAW, spec.format());
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.parse("no-uri"));
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.parse("x=http://host/"));
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.parse("../x=nbd://host/e"));
    }

    @Test
    void chainRules() {
        JobSpec.validateChain(List.of(RAW, TOP));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateChain(List.of(TOP, RAW)));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateChain(List.of(TOP, TOP)));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateChain(List.of()));
    }

    @Test
    void chunkAndClusterSizes() {
        assertEquals(12, JobSpec.of("j", List.of(RAW), "d", 4096, null, 2 << 20).clusterBits().getAsInt());
        assertThrows(IllegalArgumentException.class, () -> JobSpec.of("j", List.of(RAW), "d", 3000, null, 2 << 20));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.of("j", List.of(RAW), "d", 4 << 20, null, 2 << 20));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.of("j", List.of(RAW), "d", null, null, 3 << 20));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.of("j", List.of(RAW), "d", null, null, 0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../x", "a/../../x", "", "./..", "a/b/../../.."})
    void destinationsEscapingTheRootAreRefused(String dest) {
        assertThrows(IllegalArgumentException.class, () -> JobSpec.of("j", List.of(RAW), dest, null, null, 2 << 20));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vm1", "a/b", "a/../b", "./x", "a//b/"})
    void destinationsBelowTheRootAreAccepted(String dest) {
        assertEquals(dest, JobSpec.of("j", List.of(RAW), dest, null, null, 2 << 20).dest());
    }

    @Test
    void recordRoundTrip() {
        JobSpec spec = JobSpec.of("job-1", List.of(RAW, TOP), "vm1", 65536, "b1", 64L << 20);
        SyncJob record = spec.toRecord(Instant.ofEpochMilli(1000));
        assertEquals(65536, record.getClusterSize());
        assertEquals(spec, JobSpec.of(record));
        record.getLayers().get(1).setName("second.raw");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobSpec.of(record));
        assertEquals("layer second.raw: only the bottom layer can be raw (a raw file cannot have a backing file)",
                e.getMessage());
    }

    @Test
    void backingAndFlattenRoundTripAndChangeTheFingerprint() {
        JobSpec spec = JobSpec.of("job-2", List.of(TOP), "vm1", null, "b1", 64L << 20, "full.qcow2", false);
        SyncJob record = spec.toRecord(Instant.ofEpochMilli(1000));
        assertEquals("full.qcow2", record.getBacking());
        assertEquals(spec, JobSpec.of(record));
        String withBacking = io.chainsync.kafka.JobFingerprint.of(record);
        record.setBacking(null);
        assertNotEquals(withBacking, io.chainsync.kafka.JobFingerprint.of(record));
        JobSpec flat = JobSpec.of("job-3", List.of(TOP), "vm1", null, null, 64L << 20, null, true);
        assertEquals(flat, JobSpec.of(flat.toRecord(Instant.EPOCH)));
    }

    @Test
    void backingRules() {
        JobSpec.validateBase(List.of(TOP), "full.qcow2", false, "b1");
        JobSpec.validateBase(List.of(TOP), "full.raw", false, null);
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateBase(List.of(TOP), "../x.qcow2", false, null));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateBase(List.of(TOP), "top.qcow2", false, null),
                "a job's own layer");
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateBase(List.of(RAW), "full.qcow2", false, null),
                "raw has no backing");
    }

    @Test
    void flattenRules() {
        JobSpec.validateBase(List.of(TOP), null, true, null);
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateBase(List.of(RAW, TOP), null, true, null));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateBase(List.of(TOP), "b.qcow2", true, null));
        assertThrows(IllegalArgumentException.class, () -> JobSpec.validateBase(List.of(TOP), null, true, "b1"));
    }

    @Test
    void replaceTravelsInTheRecordAndIsPartOfTheFingerprint() {
        JobSpec plain = JobSpec.of("job-1", List.of(RAW, TOP), "vm1", null, null, 64L << 20);
        JobSpec replacing = plain.withReplace(true);
        SyncJob plainRecord = plain.toRecord(Instant.ofEpochMilli(1000));
        SyncJob replacingRecord = replacing.toRecord(Instant.ofEpochMilli(1000));
        assertEquals(false, plainRecord.getReplace());
        assertEquals(true, replacingRecord.getReplace());
        assertEquals(replacing, JobSpec.of(replacingRecord));
        assertNotEquals(io.chainsync.kafka.JobFingerprint.of(plainRecord),
                io.chainsync.kafka.JobFingerprint.of(replacingRecord));
    }
}
