package io.chainsync.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.ImageInfo;
import io.chainsync.testkit.QemuImg;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Large virtual sizes, many mapped clusters, and the distributed (reopen + finish) flow. */
class LargeImageIT {

    @TempDir
    Path dir;

    private static byte[] pattern(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void fourTiBLayerWithFewClustersIsCleanAndSmall() throws Exception {
        long size = 4L << 40;
        int bits = 16;
        long cs = 1L << bits;
        long clusters = size / cs;
        Path base = dir.resolve("base.qcow2");
        QemuImg.create(base, "qcow2", size);
        long farUnallocated = (clusters / 2 + 1) * cs;
        QemuImg.io(base, "qcow2", "write -P 0x55 " + farUnallocated + " " + cs,
                "write -P 0x55 " + (clusters - 2) * cs + " " + cs);

        Path layer = dir.resolve("layer.qcow2");
        long[] dataAt = {0, clusters / 2, clusters - 1};
        try (Qcow2Writer w = Qcow2Writer.create(layer, size, bits, "base.qcow2", "qcow2")) {
            w.reserveDataClusters(dataAt.length);
            for (int k = 0; k < dataAt.length; k++) {
                w.writeData(w.dataClusterOffset(k), ByteBuffer.wrap(pattern((int) cs, 0xa0 + k)));
                if (k == dataAt.length - 1) {
                    w.mapZero(clusters - 2, 1); // hides the backing's 0x55 (mapping follows guest order)
                }
                w.mapData(dataAt[k], 1, k);
            }
            assertEquals(3, w.l2TableCount());
            w.finish();
        }
        Qcow2WriterIT.assertCheckClean(layer);
        // header + 3 data + 1 L1 (8192 entries) + 3 L2 + 1 refcount block + 1 refcount table
        assertEquals(10 * cs, Files.size(layer));
        ImageInfo info = QemuImg.info(layer);
        assertEquals(size, info.virtualSize());
        assertEquals("base.qcow2", info.backingFile());

        List<String> expected = List.of(
                Qcow2WriterIT.mapLine(0, cs, true, false, true, cs),
                Qcow2WriterIT.mapLine(cs, (clusters / 2 - 1) * cs, false, true, false, -1),
                Qcow2WriterIT.mapLine(clusters / 2 * cs, cs, true, false, true, 2 * cs),
                Qcow2WriterIT.mapLine((clusters / 2 + 1) * cs, (clusters / 2 - 3) * cs, false, true, false, -1),
                Qcow2WriterIT.mapLine((clusters - 2) * cs, cs, true, true, false, -1),
                Qcow2WriterIT.mapLine((clusters - 1) * cs, cs, true, false, true, 3 * cs));
        assertEquals(expected, Qcow2WriterIT.actualMap(layer));

        QemuImg.io(layer, "qcow2",
                "read -P 0xa0 0 " + cs,
                "read -P 0xa1 " + clusters / 2 * cs + " " + cs,
                "read -P 0xa2 " + (clusters - 1) * cs + " " + cs,
                "read -P 0 " + (clusters - 2) * cs + " " + cs,
                "read -P 0x55 " + farUnallocated + " " + cs,
                "read -P 0 " + cs + " " + cs);
        try (Qcow2Reader r = Qcow2Reader.open(layer)) {
            assertTrue(r.check().isClean(), r.check().errors().toString());
            assertEquals(Qcow2ClusterType.ZERO_PLAIN, r.typeOf(clusters - 2));
            assertEquals(3 * cs, r.hostOffset(clusters - 1));
        }
    }

    @Test
    void aMillionMappedClustersWithMultiClusterTables() throws Exception {
        int bits = 9; // 512 B clusters: 64 entries per L2 table, 256 refcounts per block
        long cs = 1L << bits;
        int n = (1 << 20) + 100;
        long size = n * cs;
        Path layer = dir.resolve("million.qcow2");
        long zeros = 0;
        int k = 0;
        try (Qcow2Writer w = Qcow2Writer.create(layer, size, bits, null, null)) {
            w.reserveDataClusters(n - n / 5);
            for (int g = 0; g < n; ) {
                if (g % 5 == 4) {
                    w.mapZero(g, 1);
                    zeros++;
                    g++;
                } else {
                    int run = Math.min(4 - g % 5, n - g);
                    w.mapData(g, run, k);
                    k += run;
                    g += run;
                }
            }
            // only a few data clusters carry bytes; the rest are holes that read as zeros
            w.writeData(w.dataClusterOffset(0), ByteBuffer.wrap(pattern((int) cs, 0x11)));
            w.writeData(w.dataClusterOffset(k - 1), ByteBuffer.wrap(pattern((int) cs, 0x22)));
            assertEquals(n / 64 + 1, w.l2TableCount());
            w.finish();
        }
        assertEquals(n - zeros, k);
        Qcow2WriterIT.assertCheckClean(layer);
        try (Qcow2Reader r = Qcow2Reader.open(layer)) {
            assertTrue(r.header().refcountTableClusters() > 1, "refcount table spans clusters");
            assertTrue((long) r.header().l1Size() * 8 > cs, "L1 table spans clusters");
            Qcow2Reader.CheckResult cr = r.check();
            assertTrue(cr.isClean(), cr.errors().subList(0, Math.min(5, cr.errors().size())).toString());
            assertEquals(Qcow2ClusterType.ZERO_PLAIN, r.typeOf(4));
            assertEquals(Qcow2ClusterType.NORMAL, r.typeOf(n - 1));
            assertEquals(Qcow2Writer.dataClusterOffset(bits, k - 1), r.hostOffset(n - 1));
        }
        QemuImg.io(layer, "qcow2", "read -P 0x11 0 512", "read -P 0 512 " + (4 * cs - 512),
                "read -P 0x22 " + (n - 1) * cs + " 512");
    }

    @Test
    void workersWriteAtFixedOffsetsAndAFinalizerWritesMetadata() throws Exception {
        int bits = 12;
        long cs = 1L << bits;
        long size = cs * 100 + 1536;
        Path layer = dir.resolve("dist.qcow2.tmp");
        // coordinator: create the file; workers: open their own channel and write their chunk
        try (Qcow2Writer w = Qcow2Writer.create(layer, size, bits, "base.raw", "raw")) {
            w.abort(); // the creating process does not finish; others do
        }
        Path base = dir.resolve("base.raw");
        QemuImg.create(base, "raw", size);
        QemuImg.io(base, "raw", "write -P 0x55 0 " + size);
        // chunk A: guest clusters 0..9 -> data indices 0..9; chunk B: guest 50..59 -> 10..19;
        // data index 30 is written by a worker but never mapped (e.g. a plan that was superseded)
        try (FileChannel ch = FileChannel.open(layer, StandardOpenOption.WRITE)) {
            for (int k = 19; k >= 0; k--) {
                ch.write(ByteBuffer.wrap(pattern((int) cs, 0x10 + k)), Qcow2Writer.dataClusterOffset(bits, k));
            }
            ch.write(ByteBuffer.wrap(pattern((int) cs, 0x7f)), Qcow2Writer.dataClusterOffset(bits, 30));
        }
        for (int round = 0; round < 2; round++) { // finishing twice (a redelivered finalize) stays valid
            try (Qcow2Writer f = Qcow2Writer.reopenForFinish(layer, size, bits, "base.raw", "raw")) {
                f.mapData(0, 10, 0);
                f.mapData(50, 10, 10);
                f.mapZero(60, 5);
                f.mapZero(100, 1); // the partial last cluster
                f.finish();
            }
            Qcow2WriterIT.assertCheckClean(layer);
            Path raw = dir.resolve("chain.raw");
            QemuImg.convert(layer.toString(), raw, "raw");
            byte[] got = Files.readAllBytes(raw);
            assertEquals(size, got.length);
            for (long g = 0; g <= 100; g++) {
                int len = (int) Math.min(cs, size - g * cs);
                byte[] exp;
                if (g < 10) {
                    exp = pattern(len, 0x10 + (int) g);
                } else if (g >= 50 && g < 60) {
                    exp = pattern(len, 0x10 + (int) g - 40);
                } else if ((g >= 60 && g < 65) || g == 100) {
                    exp = pattern(len, 0);
                } else {
                    exp = pattern(len, 0x55);
                }
                assertArrayEquals(exp, Arrays.copyOfRange(got, (int) (g * cs), (int) (g * cs) + len), "cluster " + g);
            }
            Files.delete(raw);
            try (Qcow2Reader r = Qcow2Reader.open(layer)) {
                assertTrue(r.check().isClean(), r.check().errors().toString());
            }
        }
    }

    @Test
    void theHarnessDetectsABrokenImage() throws Exception {
        Path layer = dir.resolve("broken.qcow2");
        try (Qcow2Writer w = Qcow2Writer.create(layer, 1 << 20, 12, null, null)) {
            w.writeData(w.dataClusterOffset(0), ByteBuffer.wrap(pattern(4096, 1)));
            w.mapData(0, 1, 0);
            w.finish();
        }
        Qcow2WriterIT.assertCheckClean(layer);
        // header(0), data(1), L1(2), L2(3), refcount block(4): drop the data cluster's refcount
        try (FileChannel ch = FileChannel.open(layer, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[2]), 4 * 4096 + 2);
        }
        assertThrows(AssertionError.class, () -> Qcow2WriterIT.assertCheckClean(layer));
    }
}
