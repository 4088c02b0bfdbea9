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
        try (Qcow2Writer w = Qcow2Writer.create(dir.resolve("a.qcow2"), 1 << 20, 16, null, null)) {
            w.mapData(3, 2, 7);
            w.mapZero(5, 1);
            assertEquals(0x80000000_00080000L, w.entry(3)); // (1 + 7) * 64 KiB | COPIED
            assertEquals((9L << 16) | QCOW_OFLAG_COPIED, w.entry(4));
            assertEquals(QCOW_OFLAG_ZERO, w.entry(5));
            assertEquals(0, w.entry(6));
            assertEquals(9, w.dataClusterCount());
            assertEquals(1, w.l2TableCount());
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
            assertThrows(IllegalArgumentException.class, () -> w.mapZero(19, 1));
            assertThrows(IllegalArgumentException.class, () -> w.mapZero(18, 2));
            assertThrows(IllegalArgumentException.class, () -> w.mapZero(-1, 1));
            assertThrows(IllegalArgumentException.class, () -> w.mapData(0, 1, -1));
            assertThrows(IllegalArgumentException.class, () -> w.writeData(100, ByteBuffer.allocate(1)));
            w.mapData(0, 3, 0);
            w.mapData(0, 3, 0); // idempotent
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.mapData(5, 2, 1));
            assertTrue(e.getMessage().contains("already mapped"), e.getMessage());
            assertEquals(0, w.entry(5), "a rejected mapping changes nothing");
            w.mapZero(1, 1); // replaces data index 1 -> index 1 free again
            w.mapData(5, 1, 1);
            assertEquals(QCOW_OFLAG_ZERO, w.entry(1));
            assertEquals(Qcow2Writer.dataClusterOffset(10, 1) | QCOW_OFLAG_COPIED, w.entry(5));
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
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int k = 0; k < n; k++) {
                    final int kk = k;
                    fs.add(pool.submit(() -> {
                        byte[] b = new byte[cs];
                        Arrays.fill(b, (byte) (kk + 1));
                        w.writeData(w.dataClusterOffset(kk), ByteBuffer.wrap(b));
                        w.mapData(2L * kk, 1, kk); // every other guest cluster, mapped concurrently
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            w.mapZero(1, 1);
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
            w.mapData(0, 2, 0);
            w.finish();
        }
        // header(0), data(1,2), L2(3), L1(4), refblock(5), reftable(6)
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
