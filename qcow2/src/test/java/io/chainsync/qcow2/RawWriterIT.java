package io.chainsync.qcow2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.Exec;
import io.chainsync.testkit.QemuImg;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RawWriterIT {

    @TempDir
    Path dir;

    @Test
    void sparseAndCorrect() throws Exception {
        long size = 1L << 30;
        Path p = dir.resolve("bottom.raw");
        long[] offsets = {0, 5L << 20, 700L << 20, size - 65536};
        try (RawWriter w = RawWriter.create(p, size)) {
            IntStream.range(0, offsets.length).parallel().forEach(i -> {
                byte[] b = new byte[65536];
                Arrays.fill(b, (byte) (0x41 + i));
                try {
                    w.writeData(offsets[i], ByteBuffer.wrap(b));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            w.finish();
        }
        assertEquals(size, Files.size(p));
        String[] st = Exec.run("stat", "-c", "%b %B", p.toString()).expectSuccess().stdout().trim().split(" ");
        long allocated = Long.parseLong(st[0]) * Long.parseLong(st[1]);
        assertTrue(allocated < (1L << 20), "allocated " + allocated + " bytes");
        assertEquals(size, QemuImg.info(p).virtualSize());
        QemuImg.io(p, "raw",
                "read -P 0x41 0 65536",
                "read -P 0 65536 " + ((5L << 20) - 65536),
                "read -P 0x42 " + (5L << 20) + " 65536",
                "read -P 0x43 " + (700L << 20) + " 65536",
                "read -P 0x44 " + (size - 65536) + " 65536",
                "read -P 0 " + (800L << 20) + " 1048576");
    }
}
