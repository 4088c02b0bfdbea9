package io.chainsync.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RawWriterTest {

    @TempDir
    Path dir;

    @Test
    void lifecycleAndContent() throws Exception {
        Path p = dir.resolve("a.raw");
        RawWriter w = RawWriter.create(p, 1000);
        assertEquals(Qcow2Writer.STATE.OPEN, w.state());
        assertEquals(1000, Files.size(p));
        w.writeData(990, ByteBuffer.wrap(new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
        assertEquals(Qcow2Writer.STATE.DATA, w.state());
        assertThrows(IllegalArgumentException.class, () -> w.writeData(991, ByteBuffer.allocate(10)));
        assertThrows(IllegalArgumentException.class, () -> w.writeData(-1, ByteBuffer.allocate(1)));
        w.finish();
        assertEquals(Qcow2Writer.STATE.FINISHED, w.state());
        assertThrows(IllegalStateException.class, () -> w.writeData(0, ByteBuffer.allocate(1)));
        assertThrows(IllegalStateException.class, w::finish);
        assertThrows(IllegalStateException.class, w::abort);
        w.close();
        byte[] all = Files.readAllBytes(p);
        assertEquals(1000, all.length);
        assertEquals(0, all[989]);
        assertEquals(1, all[990]);
        assertEquals(10, all[999]);
    }

    @Test
    void abortAndValidation() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> RawWriter.create(dir.resolve("z.raw"), 0));
        Path p = dir.resolve("b.raw");
        Files.write(p, new byte[]{9, 9, 9});
        RawWriter w = RawWriter.create(p, 4096); // truncates existing content
        w.abort();
        assertEquals(Qcow2Writer.STATE.ABORTED, w.state());
        assertThrows(IllegalStateException.class, w::finish);
        w.close();
        assertArrayEquals(new byte[4096], Files.readAllBytes(p));
    }
}
