package io.chainsync.qcow2;

import static io.chainsync.qcow2.Qcow2Constants.QCOW_OFLAG_COPIED;
import static io.chainsync.qcow2.Qcow2Constants.QCOW_OFLAG_ZERO;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Qcow2WriterTest {

    @TempDir
    Path dir;

    @Test
    void dataClusterOffsetIsFixed() {
        assertEquals(65536, Qcow2Writer.dataClusterOffset(16, 0));
        assertEquals(65536L * 11, Qcow2Writer.dataClusterOffset(16, 10));
        assertEquals(512L * 4, Qcow2Writer.dataClusterOffset(9, 3));
        assertEquals(2L << 20, Qcow2Writer.dataClusterOffset(21, 0));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.dataClusterOffset(16, -1));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.dataClusterOffset(8, 0));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.dataClusterOffset(16, 1L << 40));
    }

    @Test
    void l2EntriesEncodeAsQemuExpects() throws Exception {
        Path p = dir.resolve("a.qcow2");
        try (Qcow2Writer w = Qcow2Writer.create(p, 1 << 20, 16, null, null)) {
            w.reserveDataClusters(9);
            w.mapData(3, 2, 7);
            w.mapZero(5, 1);
            assertEquals(9, w.dataClusterCount());
            assertEquals(1, w.l2TableCount());
            w.finish();
        }
        try (Qcow2Reader r = Qcow2Reader.open(p)) {
            assertEquals(0x80000000_00080000L, r.l2Entry(3)); // (1 + 7) * 64 KiB | COPIED
            assertEquals((9L << 16) | QCOW_OFLAG_COPIED, r.l2Entry(4));
            assertEquals(QCOW_OFLAG_ZERO, r.l2Entry(5));
            assertEquals(0, r.l2Entry(6));
            assertEquals(10L << 16, r.header().l1TableOffset(), "the L1 table follows the 9 reserved data clusters");
        }
    }

    /**
     * A sparse layer whose mapping spans many L2 tables, several L1 clusters and several refcount
     * blocks, written with one L2 table in memory: every entry, refcount and the check agree with
     * the reader.
     */
    @Test
    void streamedMetadataReadsBackExactly() throws Exception {
        Path p = dir.resolve("s.qcow2");
        int bits = 9; // 512 B clusters: 64 entries per L2 table and L1 cluster, 256 refcounts per block
        long size = 1L << 32; // 8 Mi guest clusters, an L1 table of 128 Ki entries (2048 clusters)
        long guestClusters = size >>> bits;
        java.util.Random random = new java.util.Random(7);
        java.util.TreeMap<Long, Long> expected = new java.util.TreeMap<>();
        long dataIndex = 0;
        long g = 0;
        try (Qcow2Writer w = Qcow2Writer.create(p, size, bits, "base.qcow2", "qcow2")) {
            w.reserveDataClusters(3000);
            while (g < guestClusters && dataIndex < 2990) {
                g += 1 + (long) (random.nextDouble() * random.nextDouble() * 40000); // clustered and sparse
                if (g + 8 > guestClusters) {
                    break;
                }
                int n = 1 + random.nextInt(8);
                if (random.nextBoolean()) {
                    w.mapData(g, n, dataIndex);
                    for (int i = 0; i < n; i++) {
                        expected.put(g + i, Qcow2Writer.dataClusterOffset(bits, dataIndex + i) | QCOW_OFLAG_COPIED);
                    }
                    dataIndex += n;
                } else {
                    w.mapZero(g, n);
                    for (int i = 0; i < n; i++) {
                        expected.put(g + i, QCOW_OFLAG_ZERO);
                    }
                }
                g += n;
            }
            assertThrows(IllegalArgumentException.class, () -> w.mapZero(0, 1), "out of guest order");
            w.finish();
        }
        try (Qcow2Reader r = Qcow2Reader.open(p)) {
            Qcow2Reader.CheckResult cr = r.check();
            assertTrue(cr.isClean(), cr.errors().toString());
            for (var e : expected.entrySet()) {
                assertEquals(e.getValue(), r.l2Entry(e.getKey()), "guest cluster " + e.getKey());
            }
            for (int i = 0; i < 2000; i++) {
                long c = (long) (random.nextDouble() * guestClusters);
                assertEquals(expected.getOrDefault(c, 0L), r.l2Entry(c), "guest cluster " + c);
            }
            for (long k = 0; k < 3000; k++) {
                assertEquals(k < dataIndex ? 1 : 0, r.refcount(Qcow2Layout.HEADER_CLUSTERS + k), "data cluster " + k);
            }
            long fileClusters = Files.size(p) >>> bits;
            assertTrue(fileClusters > 3000 + 2048 + 256, "several L1 clusters and refcount blocks: " + fileClusters);
            for (long c = 1 + 3000; c < fileClusters; c++) {
                assertEquals(1, r.refcount(c), "metadata cluster " + c);
            }
        }
    }

    @Test
    void lifecycleTransitions() throws Exception {
        Path p = dir.resolve("l.qcow2");
        Qcow2Writer w = Qcow2Writer.create(p, 1 << 20, 16, null, null);
        assertEquals(Qcow2Writer.STATE.OPEN, w.state());
        assertEquals(65536, Files.size(p)); // zeroed header cluster, not yet an image
        w.writeData(w.dataClusterOffset(0), ByteBuffer.wrap(new byte[65536]));
        assertEquals(Qcow2Writer.STATE.DATA, w.state());
        w.mapData(0, 1, 0);
        w.finish();
        assertEquals(Qcow2Writer.STATE.FINISHED, w.state());
        assertThrows(IllegalStateException.class, () -> w.writeData(65536, ByteBuffer.allocate(1)));
        assertThrows(IllegalStateException.class, () -> w.mapData(1, 1, 1));
        assertThrows(IllegalStateException.class, () -> w.mapZero(1, 1));
        assertThrows(IllegalStateException.class, w::finish);
        assertThrows(IllegalStateException.class, w::abort);
        w.close(); // no-op after finish
        assertEquals(Qcow2Writer.STATE.FINISHED, w.state());
    }

    @Test
    void abortLeavesTheIncompleteFileAndRefusesEverything() throws Exception {
        Path p = dir.resolve("x.qcow2");
        Qcow2Writer w = Qcow2Writer.create(p, 1 << 20, 16, null, null);
        w.writeData(w.dataClusterOffset(2), ByteBuffer.wrap(new byte[]{1, 2, 3}));
        w.abort();
        assertEquals(Qcow2Writer.STATE.ABORTED, w.state());
        assertTrue(Files.exists(p));
        byte[] head = Arrays.copyOf(Files.readAllBytes(p), 4);
        assertArrayEquals(new byte[4], head, "no qcow2 magic before finish");
        assertThrows(IllegalStateException.class, w::finish);
        assertThrows(IllegalStateException.class, () -> w.mapZero(0, 1));
        assertThrows(IllegalStateException.class, () -> w.writeData(65536, ByteBuffer.allocate(1)));
        w.abort(); // idempotent
        w.close();
        assertThrows(Qcow2FormatException.class, () -> Qcow2Reader.open(p));
    }

    @Test
    void closeWithoutFinishAborts() throws Exception {
        Qcow2Writer w;
        try (Qcow2Writer x = Qcow2Writer.create(dir.resolve("c.qcow2"), 1 << 20, 16, null, null)) {
            w = x;
            x.mapZero(0, 1);
        }
        assertEquals(Qcow2Writer.STATE.ABORTED, w.state());
        assertTrue(!w.channel().isOpen());
    }

    @Test
    void parameterValidation() {
        Path p = dir.resolve("v.qcow2");
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.create(p, 1000, 16, null, null));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.create(p, 0, 16, null, null));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.create(p, 1 << 20, 8, null, null));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.create(p, 1 << 20, 22, null, null));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.create(p, 1 << 20, 16, null, "qcow2"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Qcow2Writer.create(p, 1 << 20, 9, "d/".repeat(200) + "base.qcow2", "qcow2"));
        assertTrue(e.getMessage().contains("first cluster"), e.getMessage());
        assertTrue(Files.notExists(p), "validation happens before the file is created");
        assertThrows(java.nio.file.NoSuchFileException.class,
                () -> Qcow2Writer.reopenForFinish(p, 1 << 20, 16, null, null));
    }

    @Test
    void mappingValidation() throws Exception {
        // 37.5 clusters of 512 B -> 38 guest clusters (the last one partial)
        try (Qcow2Writer w = Qcow2Writer.create(dir.resolve("m.qcow2"), 512 * 37 + 512, 10, null, null)) {
            assertEquals(19, w.guestClusters());
            w.reserveDataClusters(4);
            assertThrows(IllegalArgumentException.class, () -> w.mapZero(19, 1));
            assertThrows(IllegalArgumentException.class, () -> w.mapZero(18, 2));
            assertThrows(IllegalArgumentException.class, () -> w.mapZero(-1, 1));
            assertThrows(IllegalArgumentException.class, () -> w.mapData(0, 1, -1));
            assertThrows(IllegalArgumentException.class, () -> w.writeData(100, ByteBuffer.allocate(1)));
            w.mapData(0, 1, 0);
            w.mapZero(1, 1);
            w.mapData(2, 1, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.mapData(5, 2, 1));
            assertTrue(e.getMessage().contains("already mapped"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.mapZero(2, 1));
            assertTrue(e.getMessage().contains("guest order"), e.getMessage());
            w.mapData(5, 1, 2);
            assertEquals(1, w.l2TableCount());
            w.mapData(18, 1, 3); // partial last cluster
            w.writeData(w.dataClusterOffset(3), ByteBuffer.wrap(new byte[512])); // only its guest bytes
            w.finish();
        }
        try (Qcow2Reader r = Qcow2Reader.open(dir.resolve("m.qcow2"))) {
            Qcow2Reader.CheckResult cr = r.check();
            assertTrue(cr.isClean(), cr.errors().toString());
            assertEquals(Qcow2ClusterType.NORMAL, r.typeOf(0));
            assertEquals(Qcow2ClusterType.ZERO_PLAIN, r.typeOf(1));
            assertEquals(Qcow2ClusterType.NORMAL, r.typeOf(5));
            assertEquals(Qcow2Writer.dataClusterOffset(10, 2) | QCOW_OFLAG_COPIED, r.l2Entry(5));
            assertEquals(Qcow2ClusterType.UNALLOCATED, r.typeOf(6));
            assertEquals(Qcow2ClusterType.NORMAL, r.typeOf(18));
            assertEquals(Files.size(dir.resolve("m.qcow2")) % 1024, 0, "file covers whole clusters");
        }
    }

    @Test
    void concurrentWritersThenReadBack() throws Exception {
        Path p = dir.resolve("p.qcow2");
        int n = 200;
        int cs = 4096;
        try (Qcow2Writer w = Qcow2Writer.create(p, (long) cs * n * 2, 12, "base.raw", "raw")) {
            w.reserveDataClusters(n);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int k = 0; k < n; k++) {
                    final int kk = k;
                    fs.add(pool.submit(() -> {
                        byte[] b = new byte[cs];
                        Arrays.fill(b, (byte) (kk + 1));
                        w.writeData(w.dataClusterOffset(kk), ByteBuffer.wrap(b));
                        return null;
                    }));
                }
                    for (int k = 0; k < n; k++) {
                    w.mapData(2L * k, 1, k); // every other guest cluster, mapped while data is written
                    if (k == 0) {
                        w.mapZero(1, 1);
                    }
                }
                for (Future<?> f : fs) {
                    f.get();
                }
                assertThrows(IllegalArgumentException.class,
                        () -> w.writeData(w.dataClusterOffset(n), ByteBuffer.allocate(1)), "beyond the reserved data");
            } finally {
                pool.shutdown();
            }
            w.finish();
        }
        try (Qcow2Reader r = Qcow2Reader.open(p)) {
            assertEquals("base.raw", r.backingFile());
            assertEquals("raw", r.backingFormat());
            assertTrue(r.check().isClean(), r.check().errors().toString());
            ByteBuffer buf = ByteBuffer.allocate(cs * 4);
            r.read(0, buf);
            byte[] a = buf.array();
            assertEquals(1, a[0]);
            assertEquals(1, a[cs - 1]);
            assertEquals(0, a[cs]); // zero cluster
            assertEquals(2, a[2 * cs]);
            assertEquals(0, a[3 * cs]); // unallocated reads zero alone
            assertEquals(Qcow2ClusterType.UNALLOCATED, r.typeOf(3));
            ByteBuffer last = ByteBuffer.allocate(cs);
            r.read(2L * (n - 1) * cs, last);
            assertEquals((byte) n, last.array()[17]);
        }
    }

    @Test
    void emptyLayerIsValid() throws Exception {
        Path p = dir.resolve("e.qcow2");
        try (Qcow2Writer w = Qcow2Writer.create(p, 1L << 30, 16, "base.qcow2", "qcow2")) {
            w.finish();
        }
        try (Qcow2Reader r = Qcow2Reader.open(p)) {
            Qcow2Reader.CheckResult cr = r.check();
            assertTrue(cr.isClean(), cr.errors().toString());
            // header, L1, refcount block, refcount table
            assertEquals(4, cr.referencedClusters());
            assertEquals(4L * 65536, Files.size(p));
            assertEquals(Qcow2ClusterType.UNALLOCATED, r.typeOf(12345));
        }
    }

    @Test
    void readerCheckDetectsDamage() throws Exception {
        Path p = dir.resolve("d.qcow2");
        try (Qcow2Writer w = Qcow2Writer.create(p, 1 << 20, 12, null, null)) {
            w.reserveDataClusters(2);
            w.mapData(0, 2, 0);
            w.finish();
        }
        // header(0), data(1,2), L1(3), L2(4), refblock(5), reftable(6)
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[]{0, 0}), 5L * 4096 + 2 * 2); // refcount of cluster 2 -> 0
            ch.write(ByteBuffer.wrap(new byte[]{0, 1}), 5L * 4096 + 2 * 9); // cluster 9 (beyond EOF) -> 1
        }
        try (Qcow2Reader r = Qcow2Reader.open(p)) {
            Qcow2Reader.CheckResult cr = r.check();
            assertEquals(1, cr.leaks(), cr.errors().toString());
            assertTrue(cr.corruptions() >= 2, cr.errors().toString()); // refcount 0 + COPIED mismatch
        }
    }
}
