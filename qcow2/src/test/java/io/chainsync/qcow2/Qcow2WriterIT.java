package io.chainsync.qcow2;

import com.fasterxml.jackson.databind.JsonNode;
import io.chainsync.core.ClusterSizes;
import io.chainsync.testkit.CheckResult;
import io.chainsync.testkit.ImageInfo;
import io.chainsync.testkit.MapEntry;
import io.chainsync.testkit.QemuImg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Layers written by {@link Qcow2Writer}, judged by qemu-img / qemu-io and by {@link Qcow2Reader}. */
class Qcow2WriterIT {

    enum Backing { NONE, QCOW2, RAW }

    /** D = data, Z = zero cluster, U = unallocated. */
    record Layer(int clusterBits, long virtualSize, char[] kinds, Map<Integer, byte[]> data, Map<Integer, Integer> dataIndex) {
        long clusterSize() {
            return 1L << clusterBits;
        }

        int clusterLength(int g) {
            return (int) Math.min(clusterSize(), virtualSize - (long) g * clusterSize());
        }
    }

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (int bits = ClusterSizes.MIN_BITS; bits <= ClusterSizes.MAX_BITS; bits++) {
            for (Backing b : Backing.values()) {
                out.add(Arguments.of(bits, b));
            }
        }
        return out.stream();
    }

    static Layer scenario(int clusterBits, long seed) {
        long cs = 1L << clusterBits;
        long size = cs * 37 + 512;
        int n = (int) Qcow2Layout.sizeToClusters(size, clusterBits);
        Random rnd = new Random(seed);
        char[] kinds = new char[n];
        for (int g = 0; g < n; g++) {
            kinds[g] = "DDZU".charAt(rnd.nextInt(4));
        }
        // fixed edge cases: data at 0, runs of each kind, partial last cluster is data
        kinds[0] = 'D';
        kinds[1] = 'D';
        kinds[2] = 'Z';
        kinds[3] = 'Z';
        kinds[4] = 'U';
        kinds[5] = 'D';
        kinds[n - 2] = 'Z';
        kinds[n - 1] = 'D';
        Map<Integer, byte[]> data = new HashMap<>();
        Map<Integer, Integer> index = new HashMap<>();
        int k = 0;
        for (int g = 0; g < n; g++) {
            if (kinds[g] == 'D') {
                byte[] b = new byte[(int) Math.min(cs, size - g * cs)];
                rnd.nextBytes(b);
                data.put(g, b);
                index.put(g, k++);
            }
        }
        return new Layer(clusterBits, size, kinds, data, index);
    }

    /** Writes the layer: data in parallel, mappings in runs. */
    static void write(Layer l, Path path, String backing, String backingFmt) throws IOException {
        try (Qcow2Writer w = Qcow2Writer.create(path, l.virtualSize(), l.clusterBits(), backing, backingFmt)) {
            l.data().entrySet().parallelStream().forEach(e -> {
                try {
                    w.writeData(w.dataClusterOffset(l.dataIndex().get(e.getKey())), ByteBuffer.wrap(e.getValue()));
                } catch (IOException ex) {
                    throw new java.io.UncheckedIOException(ex);
                }
            });
            char[] kinds = l.kinds();
            int g = 0;
            while (g < kinds.length) {
                int end = g;
                while (end < kinds.length && kinds[end] == kinds[g]) {
                    end++;
                }
                if (kinds[g] == 'D') {
                    w.mapData(g, end - g, l.dataIndex().get(g));
                } else if (kinds[g] == 'Z') {
                    w.mapZero(g, end - g);
                }
                g = end;
            }
            w.finish();
            assertEquals(Qcow2Writer.STATE.FINISHED, w.state());
        }
    }

    /** Expected guest bytes of cluster g: of the layer alone (fill = 0) or of the chain (fill = backing byte). */
    static byte[] expectedCluster(Layer l, int g, byte unallocatedFill) {
        byte[] b = new byte[l.clusterLength(g)];
        switch (l.kinds()[g]) {
            case 'D':
                return l.data().get(g);
            case 'U':
                java.util.Arrays.fill(b, unallocatedFill);
                return b;
            default:
                return b;
        }
    }

    static void assertContent(Layer l, Path raw, byte unallocatedFill) throws IOException {
        assertEquals(l.virtualSize(), Files.size(raw), "raw size");
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
            for (int g = 0; g < l.kinds().length; g++) {
                ByteBuffer buf = ByteBuffer.allocate(l.clusterLength(g));
                ch.read(buf, g * l.clusterSize());
                assertArrayEquals(expectedCluster(l, g, unallocatedFill), buf.array(),
                        "guest cluster " + g + " (" + l.kinds()[g] + ")");
            }
        }
    }

    /** Expected qemu-img map of the layer alone, merged as qemu merges. */
    static List<String> expectedMap(Layer l) {
        List<long[]> runs = new ArrayList<>(); // start, length, present, zero, data, offset
        for (int g = 0; g < l.kinds().length; g++) {
            char k = l.kinds()[g];
            long present = k == 'U' ? 0 : 1;
            long zero = k == 'D' ? 0 : 1;
            long data = k == 'D' ? 1 : 0;
            long offset = k == 'D' ? Qcow2Writer.dataClusterOffset(l.clusterBits(), l.dataIndex().get(g)) : -1;
            long start = g * l.clusterSize();
            long len = l.clusterLength(g);
            if (!runs.isEmpty()) {
                long[] p = runs.get(runs.size() - 1);
                if (p[2] == present && p[3] == zero && p[4] == data
                        && (offset == -1 ? p[5] == -1 : p[5] != -1 && p[5] + p[1] == offset)) {
                    p[1] += len;
                    continue;
                }
            }
            runs.add(new long[]{start, len, present, zero, data, offset});
        }
        List<String> out = new ArrayList<>();
        for (long[] r : runs) {
            out.add(mapLine(r[0], r[1], r[2] == 1, r[3] == 1, r[4] == 1, r[5]));
        }
        return out;
    }

    static String mapLine(long start, long length, boolean present, boolean zero, boolean data, long offset) {
        return start + "+" + length + " present=" + present + " zero=" + zero + " data=" + data
                + (offset >= 0 ? " offset=" + offset : "");
    }

    static List<String> actualMap(Path layer) {
        List<String> out = new ArrayList<>();
        for (MapEntry e : QemuImg.mapAlone(layer, "qcow2")) {
            out.add(mapLine(e.start(), e.length(), e.present(), e.zero(), e.data(),
                    e.offset() == null ? -1 : e.offset()));
        }
        return out;
    }

    /** {@code qemu-img check}: exit 0, a report with no check errors, leaks or corruptions (fixed or not). */
    static void assertCheckClean(Path image) {
        CheckResult check = QemuImg.check(image, "qcow2");
        assertTrue(check.isClean(), check.describe() + " " + check.json());
        assertEquals(0, check.json().required("check-errors").intValue(), check.json().toString());
    }

    @ParameterizedTest(name = "cluster_bits={0} backing={1}")
    @MethodSource("cases")
    void layerIsJudgedCorrectByQemu(int clusterBits, Backing backing) throws Exception {
        Layer l = scenario(clusterBits, clusterBits * 1000L + backing.ordinal());
        String backingName = null;
        String backingFmt = null;
        byte fill = 0;
        if (backing != Backing.NONE) {
            String fmt = backing == Backing.QCOW2 ? "qcow2" : "raw";
            backingName = "base." + fmt;
            backingFmt = fmt;
            Path base = dir.resolve(backingName);
            QemuImg.create(base, fmt, l.virtualSize());
            QemuImg.io(base, fmt, "write -P 0x55 0 " + l.virtualSize());
            fill = 0x55;
        }
        Path layer = dir.resolve("layer.qcow2");
        write(l, layer, backingName, backingFmt);

        // 1. check clean, header facts
        assertCheckClean(layer);
        ImageInfo info = QemuImg.info(layer);
        assertEquals("qcow2", info.format());
        assertEquals(l.virtualSize(), info.virtualSize());
        assertEquals(Long.valueOf(l.clusterSize()), info.clusterSize());
        assertEquals(backingName, info.backingFile());
        assertEquals(backingFmt, info.backingFormat());
        JsonNode spec = info.json().at("/format-specific/data");
        assertEquals("1.1", spec.path("compat").textValue(), spec.toString());
        assertEquals(16, spec.path("refcount-bits").intValue(), spec.toString());

        // 2. layer alone: map and content
        assertEquals(expectedMap(l), actualMap(layer));
        Path aloneRaw = dir.resolve("alone.raw");
        QemuImg.convert(QemuImg.aloneSpec(layer, "qcow2"), aloneRaw, "raw");
        assertContent(l, aloneRaw, (byte) 0);
        Files.delete(aloneRaw);

        // 3. the chain
        if (backing != Backing.NONE) {
            Path chainRaw = dir.resolve("chain.raw");
            QemuImg.convert(layer.toString(), chainRaw, "raw");
            assertContent(l, chainRaw, fill);
            Files.delete(chainRaw);
        }

        // 4. our reader agrees
        try (Qcow2Reader r = Qcow2Reader.open(layer)) {
            assertEquals(3, r.version());
            assertEquals(clusterBits, r.clusterBits());
            assertEquals(l.virtualSize(), r.virtualSize());
            assertEquals(backingName, r.backingFile());
            assertEquals(backingFmt, r.backingFormat());
            Qcow2Reader.CheckResult cr = r.check();
            assertTrue(cr.isClean(), cr.errors().toString());
            for (int g = 0; g < l.kinds().length; g++) {
                Qcow2ClusterType expected = switch (l.kinds()[g]) {
                    case 'D' -> Qcow2ClusterType.NORMAL;
                    case 'Z' -> Qcow2ClusterType.ZERO_PLAIN;
                    default -> Qcow2ClusterType.UNALLOCATED;
                };
                assertEquals(expected, r.typeOf(g), "type of guest cluster " + g);
                if (expected == Qcow2ClusterType.NORMAL) {
                    assertEquals(Qcow2Writer.dataClusterOffset(clusterBits, l.dataIndex().get(g)), r.hostOffset(g));
                }
                ByteBuffer buf = ByteBuffer.allocate(l.clusterLength(g));
                assertEquals(l.clusterLength(g), r.read(g * l.clusterSize(), buf));
                assertArrayEquals(expectedCluster(l, g, (byte) 0), buf.array(), "reader, guest cluster " + g);
            }
        }
        assertFalse(l.data().isEmpty());
    }
}
