package io.chainsync.qcow2;

import static io.chainsync.qcow2.Qcow2Constants.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class Qcow2HeaderTest {

    @Test
    void magicAndConstantsMatchTheSpec() {
        assertEquals(0x514649fb, QCOW_MAGIC);
        assertEquals(0xE2792ACA, QCOW2_EXT_MAGIC_BACKING_FORMAT);
        assertEquals(0x6803f857, QCOW2_EXT_MAGIC_FEATURE_TABLE);
        assertEquals(0x00fffffffffffe00L, L2E_OFFSET_MASK);
        assertEquals(0x8000000000000000L, QCOW_OFLAG_COPIED);
        assertEquals(0x4000000000000000L, QCOW_OFLAG_COMPRESSED);
    }

    @Test
    void v3RoundTrip() throws Exception {
        Qcow2Header h = new Qcow2Header(3, 0, 0, 16, 123456 * 512L, 0, 7, 0x30000, 0x10000, 2, 0, 0,
                QCOW2_INCOMPAT_DIRTY, QCOW2_COMPAT_LAZY_REFCOUNTS, QCOW2_AUTOCLEAR_BITMAPS, 4, 112);
        ByteBuffer b = ByteBuffer.allocate(512);
        h.encode(b);
        assertEquals(0, b.position());
        assertEquals(h, Qcow2Header.decode(b));
        // spot-check big-endian field placement
        assertEquals(0x51, b.get(0) & 0xff);
        assertEquals(3, b.getInt(HDR_VERSION));
        assertEquals(7, b.getInt(HDR_L1_SIZE));
        assertEquals(0x30000, b.getLong(HDR_L1_TABLE_OFFSET));
        assertEquals(112, b.getInt(HDR_HEADER_LENGTH));
    }

    @Test
    void v2DecodeUsesDefaults() throws Exception {
        Qcow2Header h = new Qcow2Header(2, 0, 0, 12, 1 << 20, 0, 1, 0x3000, 0x1000, 1, 0, 0, 0, 0, 0, 4, 72);
        ByteBuffer b = ByteBuffer.allocate(72);
        h.encode(b);
        assertEquals(h, Qcow2Header.decode(b));
    }

    @Test
    void firstClusterLayout() throws Exception {
        ByteBuffer c = Qcow2Header.encodeFirstCluster(9, 1 << 20, 1, 0x800, 0xa00, 1, "base.qcow2", "qcow2");
        assertEquals(512, c.remaining());
        Qcow2Header h = Qcow2Header.decode(c);
        assertEquals(3, h.version());
        assertEquals(104, h.headerLength());
        assertEquals(4, h.refcountOrder());
        assertEquals(0, h.incompatibleFeatures());
        // extension: type, length 5, "qcow2" padded to 8, then end marker, then the name
        assertEquals(QCOW2_EXT_MAGIC_BACKING_FORMAT, c.getInt(104));
        assertEquals(5, c.getInt(108));
        assertEquals('q', c.get(112));
        assertEquals(0, c.get(117));
        assertEquals(0, c.getInt(120));
        assertEquals(0, c.getInt(124));
        assertEquals(128, h.backingFileOffset());
        assertEquals(10, h.backingFileSize());
        byte[] name = new byte[10];
        c.get(128, name);
        assertEquals("base.qcow2", new String(name, StandardCharsets.UTF_8));
        assertEquals(138, Qcow2Header.firstClusterBytes("base.qcow2", "qcow2"));
        assertEquals(112, Qcow2Header.firstClusterBytes(null, null));
    }

    @Test
    void backingValidation() {
        Qcow2Header.checkBacking(null, null, 9);
        assertThrows(IllegalArgumentException.class, () -> Qcow2Header.checkBacking(null, "raw", 16));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Header.checkBacking("", null, 16));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Header.checkBacking("a", "", 16));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Header.checkBacking("a", "x".repeat(16), 16));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Header.checkBacking("x".repeat(1024), null, 16));
        Qcow2Header.checkBacking("x".repeat(1023), "qcow2", 16);
        // 512 B cluster: 104 + 16 (format ext) + 8 (end) = 128, 384 bytes left for the name
        Qcow2Header.checkBacking("x".repeat(384), "qcow2", 9);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Qcow2Header.checkBacking("x".repeat(385), "qcow2", 9));
        assertTrue(e.getMessage().contains("first cluster"), e.getMessage());
    }

    @Test
    void decodeRejectsGarbage() {
        ByteBuffer b = ByteBuffer.allocate(512);
        assertThrows(Qcow2FormatException.class, () -> Qcow2Header.decode(b));
        b.putInt(0, QCOW_MAGIC);
        b.putInt(4, 4);
        assertThrows(Qcow2FormatException.class, () -> Qcow2Header.decode(b));
        b.putInt(4, 3);
        b.putInt(HDR_CLUSTER_BITS, 16);
        b.putInt(HDR_HEADER_LENGTH, 100);
        assertThrows(Qcow2FormatException.class, () -> Qcow2Header.decode(b));
        b.putInt(HDR_HEADER_LENGTH, 104);
        b.putInt(HDR_CLUSTER_BITS, 22);
        assertThrows(Qcow2FormatException.class, () -> Qcow2Header.decode(b));
    }

    @Test
    void clusterTypeDecoding() {
        assertEquals(Qcow2ClusterType.UNALLOCATED, Qcow2ClusterType.of(0, 3));
        assertEquals(Qcow2ClusterType.ZERO_PLAIN, Qcow2ClusterType.of(QCOW_OFLAG_ZERO, 3));
        assertEquals(Qcow2ClusterType.ZERO_ALLOC, Qcow2ClusterType.of(0x10000 | QCOW_OFLAG_ZERO | QCOW_OFLAG_COPIED, 3));
        assertEquals(Qcow2ClusterType.NORMAL, Qcow2ClusterType.of(0x10000 | QCOW_OFLAG_COPIED, 3));
        assertEquals(Qcow2ClusterType.NORMAL, Qcow2ClusterType.of(0x10000 | QCOW_OFLAG_ZERO, 2));
        assertEquals(Qcow2ClusterType.COMPRESSED, Qcow2ClusterType.of(QCOW_OFLAG_COMPRESSED | 0x12345, 3));
    }
}
