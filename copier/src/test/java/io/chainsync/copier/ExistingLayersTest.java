package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** How a backing file name recorded in an image is matched against a layer of its directory. */
class ExistingLayersTest {

    private static final Path DIR = Path.of("/backups/vm1");

    @Test
    void relativeAndAbsoluteNamesOfTheLayerReferToIt() {
        assertTrue(ExistingLayers.refersTo(DIR, "base.qcow2", "base.qcow2"));
        assertTrue(ExistingLayers.refersTo(DIR, "./base.qcow2", "base.qcow2"));
        assertTrue(ExistingLayers.refersTo(DIR, "../vm1/base.qcow2", "base.qcow2"));
        assertTrue(ExistingLayers.refersTo(DIR, "/backups/vm1/base.qcow2", "base.qcow2"));
        assertTrue(ExistingLayers.refersTo(DIR, "file:base.qcow2", "base.qcow2"));
    }

    @Test
    void otherFilesDoNot() {
        assertFalse(ExistingLayers.refersTo(DIR, "base2.qcow2", "base.qcow2"));
        assertFalse(ExistingLayers.refersTo(DIR, "../vm2/base.qcow2", "base.qcow2"));
        assertFalse(ExistingLayers.refersTo(DIR, "/backups/vm2/base.qcow2", "base.qcow2"));
        assertFalse(ExistingLayers.refersTo(DIR, "nbd://host/base.qcow2", "base.qcow2"));
    }

    @Test
    void aJsonNameMentioningTheLayerIsTakenToReferToIt() {
        assertTrue(ExistingLayers.refersTo(DIR,
                "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"base.qcow2\"}}", "base.qcow2"));
    }
}
