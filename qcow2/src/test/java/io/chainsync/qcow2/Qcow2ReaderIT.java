package io.chainsync.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link Qcow2Reader} on images made by qemu-img and qemu-io. */
class Qcow2ReaderIT {

    @TempDir
    Path dir;

    @BeforeAll
    static void needQemu() {
        Assumptions.assumeTrue(Qemu.available(), "qemu-img not installed");
    }

    @ParameterizedTest(name = "cluster_size={0} compat={1} backing={2}")
    @CsvSource({
        "512, 1.1, none", "512, 1.1, qcow2", "4096, 1.1, raw", "4096, 0.10, qcow2",
        "65536, 1.1, qcow2", "65536, 1.1, none", "65536, 0.10, none", "2097152, 1.1, raw"})
    void readsQemuMadeImages(long cs, String compat, String backing) throws Exception {
        long size = cs * 40 + 512;
        List<String> create = new ArrayList<>(List.of("qemu-img", "create", "-f", "qcow2",
                "-o", "cluster_size=" + cs + ",compat=" + compat));
        String backingName = null;
        if (!backing.equals("none")) {
            backingName = "base." + backing;
            Path base = dir.resolve(backingName);
            Qemu.run("qemu-img", "create", "-f", backing, base.toString(), Long.toString(size)).ok();
            Qemu.io(base, backing, "write -P 0x55 0 " + size);
            create.addAll(List.of("-b", backingName, "-F", backing));
        }
        Path img = dir.resolve("img.qcow2");
        create.addAll(List.of(img.toString(), Long.toString(size)));
        Qemu.run(create.toArray(new String[0])).ok();
        Qemu.io(img, "qcow2",
                "write -P 0xaa 0 " + 2 * cs,
                "write -z " + 3 * cs + " " + cs,                     // zero cluster (v3)
                "write -P 0x11 " + (5 * cs + 100) + " 300",          // partial cluster: COW from backing
                "write -z " + 7 * cs + " " + 2 * cs,
                "write -P 0x22 " + 10 * cs + " " + cs,
                "write -z " + 10 * cs + " " + cs,                    // zero over allocated: ZERO_ALLOC
                "write -P 0x33 " + 12 * cs + " " + 2 * cs,
                "discard " + 13 * cs + " " + cs,
                "write -P 0x44 " + 40 * cs + " 512");                // partial last cluster
        Map<String, Object> check = Qemu.check(img);
        assertEquals(0L, check.get("check-errors"));

        Path aloneRaw = dir.resolve("alone.raw");
        Qemu.convertToRaw(Qemu.alone(img), aloneRaw);
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
            for (Map<String, Object> e : Qemu.mapAlone(img)) {
                long start = (Long) e.get("start");
                long length = (Long) e.get("length");
                boolean present = (Boolean) e.get("present");
                boolean zero = (Boolean) e.get("zero");
                boolean data = (Boolean) e.get("data");
                for (long off = start; off < start + length; off += cs) {
                    long g = off / cs;
                    Qcow2ClusterType t = r.typeOf(g);
                    seen.add(t);
                    String at = "guest cluster " + g + " " + e;
                    assertEquals(present, t.isAllocated(), at);
                    if (present) {
                        assertEquals(zero, t.isZero(), at);
                        assertEquals(data, t == Qcow2ClusterType.NORMAL, at);
                    }
                    if (t == Qcow2ClusterType.NORMAL) {
                        assertEquals((Long) e.get("offset") + (off - start), r.hostOffset(g), at);
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
        Qemu.run("qemu-img", "create", "-f", "qcow2", "-o", "extended_l2=on", ext.toString(), "1M").ok();
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
        Qemu.run("qemu-img", "convert", "-c", "-O", "qcow2", src.toString(), img.toString()).ok();
        try (Qcow2Reader r = Qcow2Reader.open(img)) {
            assertEquals(Qcow2ClusterType.COMPRESSED, r.typeOf(0));
            assertTrue(r.hostOffset(0) > 0);
            assertThrows(UnsupportedOperationException.class, () -> r.read(0, ByteBuffer.allocate(10)));
        }
    }
}
