package io.chainsync.qcow2;

import static io.chainsync.qcow2.Qcow2Constants.HDR_CRYPT_METHOD;
import static io.chainsync.qcow2.Qcow2Constants.HDR_INCOMPATIBLE_FEATURES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Qcow2ReaderTest {

    @TempDir
    Path dir;

    private Path image() throws Exception {
        Path p = dir.resolve("i.qcow2");
        try (Qcow2Writer w = Qcow2Writer.create(p, 1 << 20, 16, null, null)) {
            w.mapZero(0, 1);
            w.finish();
        }
        return p;
    }

    private static void patch(Path p, int offset, ByteBuffer value) throws Exception {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(value, offset);
        }
    }

    @Test
    void opensOwnImage() throws Exception {
        try (Qcow2Reader r = Qcow2Reader.open(image())) {
            assertEquals(Qcow2ClusterType.ZERO_PLAIN, r.typeOf(0));
            assertEquals(0, r.hostOffset(0));
            assertThrows(IllegalArgumentException.class, () -> r.typeOf(16));
        }
    }

    @Test
    void rejectsEncryption() throws Exception {
        Path p = image();
        patch(p, HDR_CRYPT_METHOD, ByteBuffer.allocate(4).putInt(0, 2));
        Qcow2FormatException e = assertThrows(Qcow2FormatException.class, () -> Qcow2Reader.open(p));
        assertTrue(e.getMessage().contains("encrypted"), e.getMessage());
    }

    @Test
    void rejectsExtendedL2ExternalDataAndUnknownFeatures() throws Exception {
        Path p = image();
        patch(p, HDR_INCOMPATIBLE_FEATURES, ByteBuffer.allocate(8).putLong(0, Qcow2Constants.QCOW2_INCOMPAT_EXTL2));
        Qcow2FormatException e = assertThrows(Qcow2FormatException.class, () -> Qcow2Reader.open(p));
        assertTrue(e.getMessage().contains("extended_l2"), e.getMessage());
        patch(p, HDR_INCOMPATIBLE_FEATURES, ByteBuffer.allocate(8).putLong(0, Qcow2Constants.QCOW2_INCOMPAT_DATA_FILE));
        e = assertThrows(Qcow2FormatException.class, () -> Qcow2Reader.open(p));
        assertTrue(e.getMessage().contains("external data file"), e.getMessage());
        patch(p, HDR_INCOMPATIBLE_FEATURES, ByteBuffer.allocate(8).putLong(0, 1L << 40));
        e = assertThrows(Qcow2FormatException.class, () -> Qcow2Reader.open(p));
        assertTrue(e.getMessage().contains("unknown incompatible"), e.getMessage());
        patch(p, HDR_INCOMPATIBLE_FEATURES, ByteBuffer.allocate(8).putLong(0, Qcow2Constants.QCOW2_INCOMPAT_DIRTY));
        try (Qcow2Reader r = Qcow2Reader.open(p)) { // dirty images are readable
            assertEquals(Qcow2ClusterType.ZERO_PLAIN, r.typeOf(0));
        }
    }

    @Test
    void refcountEntryWidths() {
        ByteBuffer b = ByteBuffer.allocate(64);
        b.put(0, (byte) 0b1011_0110);
        assertEquals(0, Qcow2Reader.refcountEntry(b, 0, 0));
        assertEquals(1, Qcow2Reader.refcountEntry(b, 1, 0));
        assertEquals(2, Qcow2Reader.refcountEntry(b, 0, 1)); // bits 1..0 = 10
        assertEquals(1, Qcow2Reader.refcountEntry(b, 1, 1)); // bits 3..2 = 01
        assertEquals(6, Qcow2Reader.refcountEntry(b, 0, 2)); // low nibble 0110
        assertEquals(11, Qcow2Reader.refcountEntry(b, 1, 2)); // high nibble 1011
        b.putShort(2, (short) 0xfffe);
        assertEquals(0xfffe, Qcow2Reader.refcountEntry(b, 1, 4));
        b.putLong(8, 5);
        assertEquals(5, Qcow2Reader.refcountEntry(b, 1, 6));
    }
}
