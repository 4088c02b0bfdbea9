package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The judge against exact, naive and flattened copies of the seed scenario (docs/design.md §1, §4). */
class ChainJudgeIT {

    static final int K64 = 64 * 1024;

    @TempDir
    Path tmp;

    private Chain seed(boolean rawBase) {
        return ChainBuilder.seed(tmp.resolve("src"), rawBase);
    }

    private Path dest() throws Exception {
        return Files.createDirectories(tmp.resolve("dst"));
    }

    private static void copy(Layer l, Path destDir) throws Exception {
        Files.copy(l.path(), destDir.resolve(l.name()));
    }

    @ParameterizedTest(name = "rawBase={0}")
    @ValueSource(booleans = {true, false})
    void seedScenarioIsWhatDesignSays(boolean rawBase) {
        Chain c = seed(rawBase);
        assertEquals(List.of(rawBase ? "base.raw" : "base.qcow2", "top.qcow2"), c.names());
        ImageInfo top = c.top().info();
        assertEquals(c.bottom().name(), top.backingFile());
        assertEquals(c.bottom().format(), top.backingFormat());
        assertEquals(4L * K64, top.virtualSize());
        // the top provides exactly clusters 1 (data) and 2 (zero)
        assertEquals(List.of(new Range(K64, 3L * K64)), QemuImg.presentRanges(c.top().aloneSpec()));
        List<MapEntry> alone = QemuImg.mapAlone(c.top().path(), "qcow2");
        MapEntry zero = alone.stream().filter(e -> e.start() == 2L * K64).findFirst().orElseThrow();
        assertTrue(zero.present() && zero.zero() && !zero.data(), zero.toString());
        // the chain reads A D 0 0
        assertFalse(QemuImg.compare(c.bottom().chainSpec(), c.top().chainSpec()).identical());
        assertEquals(K64, QemuImg.compare(c.bottom().chainSpec(), c.top().chainSpec()).mismatchOffset());
    }

    @ParameterizedTest(name = "rawBase={0}")
    @ValueSource(booleans = {true, false})
    void exactCopyIsExact(boolean rawBase) throws Exception {
        Chain c = seed(rawBase);
        Path d = dest();
        for (Layer l : c.layers()) {
            copy(l, d);
        }
        Verdict v = ChainJudge.judge(c, d);
        assertTrue(v.isExact(), v.toString());
        v.assertExact();
    }

    /** The 2021 bug: copy only non-hole data, i.e. drop the zero cluster. */
    @ParameterizedTest(name = "rawBase={0}")
    @ValueSource(booleans = {true, false})
    void skipHolesCopyFailsAtOffset131072(boolean rawBase) throws Exception {
        Chain c = seed(rawBase);
        Path d = dest();
        copy(c.bottom(), d);
        Path top = d.resolve("top.qcow2");
        QemuImg.create(top, "qcow2", null, c.bottom().name(), c.bottom().format(), null, null);
        QemuImg.io(top, "qcow2", "write -P 0x44 64k 64k");

        Verdict v = ChainJudge.judge(c, d);
        assertFalse(v.isExact());
        assertTrue(v.failuresFor(c.bottom().name()).isEmpty(), v.toString());
        assertTrue(v.failures().stream().anyMatch(f -> f.layer().equals("top.qcow2")
                && f.check() == Verdict.Check.CHAIN_CONTENT && f.message().equals("Content mismatch at offset 131072")),
                v.toString());
        assertTrue(v.has("top.qcow2", Verdict.Check.ALONE_PRESENT), v.toString());
        assertFalse(v.has("top.qcow2", Verdict.Check.ALONE_CONTENT), "alone, both read 0 D 0 0: " + v);
        AssertionError e = assertThrows(AssertionError.class, v::assertExact);
        assertTrue(e.getMessage().contains("layer top.qcow2: chain: Content mismatch at offset 131072"), e.getMessage());
    }

    /** Copy everything the chain reads into the top layer (flattening): the chain reads right, the layer does not. */
    @ParameterizedTest(name = "rawBase={0}")
    @ValueSource(booleans = {true, false})
    void flattenedCopyFailsAloneChecks(boolean rawBase) throws Exception {
        Chain c = seed(rawBase);
        Path d = dest();
        copy(c.bottom(), d);
        Path top = d.resolve("top.qcow2");
        // -S 0: allocate everything (plain convert would leave the zero cluster out, and then the
        // backing's 'C' shows through: that copy is also wrong, but in the chain check)
        QemuImg.convert(c.top().chainSpec(), top, "qcow2", "-S", "0");
        QemuImg.rebaseUnsafe(top, c.bottom().name(), c.bottom().format());

        Verdict v = ChainJudge.judge(c, d);
        assertTrue(v.failuresFor(c.bottom().name()).isEmpty(), v.toString());
        assertTrue(v.failures().stream().anyMatch(f -> f.check() == Verdict.Check.ALONE_CONTENT
                && f.message().equals("Content mismatch at offset 0")), v.toString());
        assertTrue(v.has("top.qcow2", Verdict.Check.ALONE_PRESENT), v.toString());
        assertFalse(v.has("top.qcow2", Verdict.Check.CHAIN_CONTENT), v.toString());
    }

    /** Writing a zero cluster where the source has none reads the same everywhere: only "present" catches it. */
    @Test
    void overZeroingIsCaughtOnlyByPresentRanges() throws Exception {
        Chain c = seed(true);
        Path d = dest();
        copy(c.bottom(), d);
        copy(c.top(), d);
        QemuImg.io(d.resolve("top.qcow2"), "qcow2", "write -z 192k 64k"); // base cluster 3 is zero anyway
        Verdict v = ChainJudge.judge(c, d);
        assertEquals(1, v.failures().size(), v.toString());
        Verdict.Failure f = v.failures().get(0);
        assertEquals(Verdict.Check.ALONE_PRESENT, f.check());
        assertTrue(f.message().startsWith("provided ranges differ at offset 196608"), f.message());
    }

    @Test
    void metadataFailures() throws Exception {
        Chain c = ChainBuilder.in(tmp.resolve("src")).base("base.qcow2").pattern("AB")
                .layer("mid.qcow2").pattern("-C").layer("top.qcow2").pattern("D").build();
        Path d = dest();
        // base stored as raw although its name says qcow2
        QemuImg.convert(c.bottom().aloneSpec(), d.resolve("base.qcow2"), "raw");
        // mid: right content, absolute backing reference
        copy(c.get(1), d);
        QemuImg.rebaseUnsafe(d.resolve("mid.qcow2"), d.resolve("base.qcow2").toString(), "qcow2");
        // top missing
        Verdict v = ChainJudge.judge(c, d);
        assertTrue(v.has("base.qcow2", Verdict.Check.FORMAT), v.toString());
        assertTrue(v.has("mid.qcow2", Verdict.Check.BACKING), v.toString());
        assertTrue(v.has("top.qcow2", Verdict.Check.FILE), v.toString());
    }

    @Test
    void wrongSizeAndCorruptionAreReported() throws Exception {
        Chain c = seed(false);
        Path d = dest();
        QemuImg.create(d.resolve("base.qcow2"), "qcow2", 8L * K64);
        QemuImg.io(d.resolve("base.qcow2"), "qcow2", "write -P 0x41 0 64k", "write -P 0x42 64k 64k",
                "write -P 0x43 128k 64k");
        copy(c.top(), d);
        // corrupt the top: point the L1 table at a bogus offset
        Path top = d.resolve("top.qcow2");
        try (var ch = java.nio.channels.FileChannel.open(top, java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.StandardOpenOption.READ)) {
            java.nio.ByteBuffer hdr = java.nio.ByteBuffer.allocate(48);
            ch.read(hdr, 0);
            long l1 = hdr.getLong(40);
            java.nio.ByteBuffer entry = java.nio.ByteBuffer.allocate(8);
            ch.read(entry, l1);
            long e = entry.getLong(0);
            entry.clear();
            entry.putLong(0, (e & ~0x00fffffffffffe00L) | 0x7000000L); // L2 table offset beyond EOF
            ch.write(entry, l1);
        }
        Verdict v = ChainJudge.judge(c, d);
        assertTrue(v.failuresFor("base.qcow2").stream().anyMatch(f -> f.check() == Verdict.Check.SIZE
                && f.message().equals("virtual size 524288, expected 262144")), v.toString());
        assertTrue(v.has("top.qcow2", Verdict.Check.CHECK), v.toString());
    }
}
