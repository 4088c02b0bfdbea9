package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.qcow2.Qcow2Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks of an existing layer named as a job's backing (docs/design.md §3, "Backing layers"). */
class BackingLayerTest {

    @TempDir
    Path dir;

    @Test
    void aQcow2LayerMayBeGrownOverButNotShrunk() throws Exception {
        try (Qcow2Writer w = Qcow2Writer.create(dir.resolve("full.qcow2"), 1 << 20, 16, null, null)) {
            w.finish();
        }
        try (DestDir d = DestDir.of(dir, FileModes.DEFAULT)) {
            assertEquals(1 << 20, BackingLayer.check(d, "full.qcow2", 1 << 20));
            assertEquals(1 << 20, BackingLayer.check(d, "full.qcow2", 2 << 20), "a grown disk");
            BackingLayer.BackingLayerException e = assertThrows(BackingLayer.BackingLayerException.class,
                    () -> BackingLayer.check(d, "full.qcow2", 512 << 10));
            assertTrue(e.getMessage().contains("larger"), e.getMessage());
        }
    }

    @Test
    void aRawLayerHasItsFileSizeAndAFileNamedQcow2MustBeOne() throws Exception {
        Files.write(dir.resolve("base.raw"), new byte[4096]);
        Files.write(dir.resolve("fake.qcow2"), new byte[4096]);
        try (DestDir d = DestDir.of(dir, FileModes.DEFAULT)) {
            assertEquals(4096, BackingLayer.check(d, "base.raw", 4096));
            BackingLayer.BackingLayerException e = assertThrows(BackingLayer.BackingLayerException.class,
                    () -> BackingLayer.check(d, "fake.qcow2", 4096));
            assertTrue(e.getMessage().contains("not a qcow2 image"), e.getMessage());
            e = assertThrows(BackingLayer.BackingLayerException.class, () -> BackingLayer.check(d, "gone.qcow2", 1));
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        }
    }

    @Test
    void aLinkIsRefusedNeverFollowed() throws Exception {
        Files.write(dir.resolve("base.raw"), new byte[4096]);
        Files.createSymbolicLink(dir.resolve("link.raw"), dir.resolve("base.raw"));
        try (DestDir d = DestDir.of(dir, FileModes.DEFAULT)) {
            assertThrows(ConfinementException.class, () -> BackingLayer.check(d, "link.raw", 4096));
        }
    }
}
