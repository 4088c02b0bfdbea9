package io.chainsync.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.MapEntry;
import io.chainsync.testkit.QemuImg;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link Qcow2Reader} on images made by qemu-img and qemu-io. */
class Qcow2ReaderIT {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "cluster_size={0} compat={1} backing={2}")
    @CsvSource({
        "512, 1.1, none", "512, 1.1, qcow2", "4096, 1.1, raw", "4096, 0.10, qcow2",
        "65536, 1.1, qcow2", "65536, 1.1, none", "65536, 0.10, none", "2097152, 1.1, raw"})
    void readsQemuMadeImages(long cs, String compat, String backing) throws Exception {
        long size = cs * 40 + 512;
        String backingName = null;
        String backingFormat = null;
        if (!backing.equals("none")) {
            backingName = "base." + backing;
            backingFormat = backing;
            Path base = dir.resolve(backingName);
            QemuImg.create(base, backing, size);
            QemuImg.io(base, backing, "write -P 0x55 0 " + size);
        }
        Path img = dir.resolve("img.qcow2");
        QemuImg.create(img, "qcow2", size, backingName, backingFormat, (int) cs, Map.of("compat", compat));
        QemuImg.io(img, "qcow2",
                "write -P 0xaa 0 " + 2 * cs,
                "write -z " + 3 * cs + " " + cs,                     // zero cluster (v3)
                "write -P 0x11 " + (5 * cs + 100) + " 300",          // partial cluster: COW from backing
                "write -z " + 7 * cs + " " + 2 * cs,
                "write -P 0x22 " + 10 * cs + " " + cs,
                "write -z " + 10 * cs + " " + cs,                    // zero over allocated: ZERO_ALLOC
                "write -P 0x33 " + 12 * cs + " " + 2 * cs,
                "discard " + 13 * cs + " " + cs,
                "write -P 0x44 " + 40 * cs + " 512");                // partial last cluster
        Qcow2WriterIT.assertCheckClean(img);

        Path aloneRaw = dir.resolve("alone.raw");
        QemuImg.convert(QemuImg.aloneSpec(img, "qcow2"), aloneRaw, "raw");
        byte[] expected = Files.readAllBytes(aloneRaw);
        assertEquals(size, expected.length);

        Set<Qcow2ClusterType> seen = EnumSet.noneOf(Qcow2ClusterType.class);
        try (Qcow2Reader r = Qcow2Reader.open(img)) {
            assertEquals(compat.equals("1.1") ? 3 : 2, r.version());
            assertEquals(cs, r.clusterSize());
            assertEquals(size, r.virtualSize());
            assertEquals(backingName, r.backingFile());
            assertEquals(backingName == null ? null : backing, r.backingFormat());
            Qcow2Reader.CheckResult cr = r.check();
            assertTrue(cr.isClean(), cr.errors().toString());

            ByteBuffer all = ByteBuffer.allocate((int) size);
            assertEquals(size, r.read(0, all));
            assertArrayEquals(expected, all.array());
            // an unaligned read across cluster boundaries
            ByteBuffer part = ByteBuffer.allocate((int) cs + 1000);
            r.read(5 * cs - 500, part);
            for (int i = 0; i < part.capacity(); i++) {
                assertEquals(expected[(int) (5 * cs - 500 + i)], part.get(i), "byte " + i);
            }

            // cluster types agree with qemu-img map of the layer alone
            for (MapEntry e : QemuImg.mapAlone(img, "qcow2")) {
                long start = e.start();
                boolean present = e.present();
                for (long off = start; off < start + e.length(); off += cs) {
                    long g = off / cs;
                    Qcow2ClusterType t = r.typeOf(g);
                    seen.add(t);
                    String at = "guest cluster " + g + " " + e;
                    assertEquals(present, t.isAllocated(), at);
                    if (present) {
                        assertEquals(e.zero(), t.isZero(), at);
                        assertEquals(e.data(), t == Qcow2ClusterType.NORMAL, at);
                    }
                    if (t == Qcow2ClusterType.NORMAL) {
                        assertEquals(e.offset() + (off - start), r.hostOffset(g), at);
                    }
                }
            }
        }
        assertTrue(seen.contains(Qcow2ClusterType.NORMAL));
        assertTrue(seen.contains(Qcow2ClusterType.UNALLOCATED));
        if (compat.equals("1.1")) {
            assertTrue(seen.contains(Qcow2ClusterType.ZERO_PLAIN), seen.toString());
            assertTrue(seen.contains(Qcow2ClusterType.ZERO_ALLOC), seen.toString());
        }
    }

    @Test
    void rejectsExtendedL2AndNonQcow2() throws Exception {
        Path ext = dir.resolve("ext.qcow2");
        QemuImg.create(ext, "qcow2", 1L << 20, null, null, null, Map.of("extended_l2", "on"));
        Qcow2FormatException e = assertThrows(Qcow2FormatException.class, () -> Qcow2Reader.open(ext));
        assertTrue(e.getMessage().contains("extended_l2"), e.getMessage());

        Path raw = dir.resolve("x.raw");
        Files.write(raw, new byte[4096]);
        e = assertThrows(Qcow2FormatException.class, () -> Qcow2Reader.open(raw));
        assertTrue(e.getMessage().contains("magic"), e.getMessage());
    }

    @Test
    void compressedClustersAreMappedButNotRead() throws Exception {
        Path src = dir.resolve("src.raw");
        byte[] b = new byte[256 * 1024];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i % 7);
        }
        Files.write(src, b);
        Path img = dir.resolve("c.qcow2");
        QemuImg.convert(src.toString(), img, "qcow2", "-c");
        try (Qcow2Reader r = Qcow2Reader.open(img)) {
            assertEquals(Qcow2ClusterType.COMPRESSED, r.typeOf(0));
            assertTrue(r.hostOffset(0) > 0);
            assertThrows(UnsupportedOperationException.class, () -> r.read(0, ByteBuffer.allocate(10)));
        }
    }
}
