package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** qemu-nbd as docs/design.md §1/§2 describes it, checked with nbdinfo as an independent client. */
class QemuNbdServerIT {

    static final long K64 = 64 * 1024;
    static final long SIZE = 4 * K64;
    static final long HOLE_ZERO = 3;
    static final long DATA = 0;

    @TempDir
    Path tmp;

    @Test
    void seedTopAloneMatchesDesignTable() {
        Chain c = ChainBuilder.seed(tmp.resolve("src"), true);
        try (QemuNbdServer s = QemuNbdServer.serveLayerAlone(c.top().path(), tmp)) {
            assertTrue(s.uri().startsWith("nbd+unix:///?socket="), s.uri());
            assertEquals(List.of("base:allocation", "qemu:allocation-depth"), NbdInfo.contexts(s.uri()));
            assertEquals(SIZE, NbdInfo.size(s.uri()));
            // docs/design.md §1: hole,zero/absent  data/local  hole,zero/local  hole,zero/absent
            assertEquals(List.of(HOLE_ZERO, DATA, HOLE_ZERO, HOLE_ZERO),
                    NbdInfo.perUnit(NbdInfo.map(s.uri(), "base:allocation"), SIZE, K64));
            assertEquals(List.of(0L, 1L, 1L, 0L),
                    NbdInfo.perUnit(NbdInfo.map(s.uri(), "qemu:allocation-depth"), SIZE, K64));
            assertTrue(s.isAlive());
            assertEquals("", s.output().strip(), "readiness probe must not make qemu-nbd complain");
        }
    }

    @Test
    void withBackingShowsBackingDepthAndNoDepthHidesContext() {
        Chain c = ChainBuilder.seed(tmp.resolve("src"), false);
        try (QemuNbdServer chain = QemuNbdServer.serveWithBacking(c.top().path(), tmp);
             QemuNbdServer noDepth = QemuNbdServer.serveNoDepth(c.top().path(), tmp);
             QemuNbdServer base = QemuNbdServer.serveLayer(c.bottom(), tmp)) {
            // qcow2 base ABC-: cluster 3 is absent everywhere
            assertEquals(List.of(2L, 1L, 1L, 0L),
                    NbdInfo.perUnit(NbdInfo.map(chain.uri(), "qemu:allocation-depth"), SIZE, K64));
            assertEquals(List.of("base:allocation"), NbdInfo.contexts(noDepth.uri()));
            assertEquals(List.of(1L, 1L, 1L, 0L),
                    NbdInfo.perUnit(NbdInfo.map(base.uri(), "qemu:allocation-depth"), SIZE, K64));
        }
    }

    @Test
    void rawExportIsRoundedUpAndOffersNoDepth() throws Exception {
        Chain c = ChainBuilder.in(tmp.resolve("src")).size(1_000_000).base("odd.raw").pattern("A").build();
        assertEquals(1_000_000, Files.size(c.bottom().path()));
        try (QemuNbdServer s = QemuNbdServer.serveLayer(c.bottom(), tmp)) {
            assertFalse(s.command().contains("-A"), s.command().toString());
            assertEquals(1_000_448, NbdInfo.size(s.uri()));
            assertEquals(List.of("base:allocation"), NbdInfo.contexts(s.uri()));
        }
    }

    @Test
    void dirtyBitmapIsExposed() {
        Chain c = ChainBuilder.in(tmp.resolve("src")).base("base.qcow2").pattern("ABC-")
                .layer("top.qcow2").bitmap("b0").pattern("-D0-").build();
        try (QemuNbdServer s = QemuNbdServer.builder(QemuImg.aloneSpec(c.top().path(), "qcow2"), "qcow2")
                .bitmap("b0").start(tmp)) {
            assertTrue(NbdInfo.contexts(s.uri()).contains("qemu:dirty-bitmap:b0"), NbdInfo.contexts(s.uri()).toString());
            assertEquals(List.of(0L, 1L, 1L, 0L),
                    NbdInfo.perUnit(NbdInfo.map(s.uri(), "qemu:dirty-bitmap:b0"), SIZE, K64));
        }
    }

    /**
     * A naive copier through NBD: nbdcopy from the layer-alone export into a writable qemu-nbd serving
     * the destination top with its backing, skipping zeroes (--destination-is-zero). The judge must
     * catch it exactly as docs/design.md §1 says.
     */
    @Test
    void naiveNbdcopyIntoWritableServerIsJudgedWrong() throws Exception {
        Chain c = ChainBuilder.seed(tmp.resolve("src"), true);
        Path d = Files.createDirectories(tmp.resolve("dst"));
        Files.copy(c.bottom().path(), d.resolve("base.raw"));
        Path top = d.resolve("top.qcow2");
        QemuImg.create(top, "qcow2", null, "base.raw", "raw", null, null);
        try (QemuNbdServer src = QemuNbdServer.serveLayerAlone(c.top().path(), tmp);
             QemuNbdServer dst = QemuNbdServer.builder(top.toString(), "qcow2").writable().start(tmp)) {
            Exec.run("nbdcopy", "--destination-is-zero", src.uri(), dst.uri()).expectSuccess();
        }
        Verdict v = ChainJudge.judge(c, d);
        assertTrue(v.failures().stream().anyMatch(f -> f.layer().equals("top.qcow2")
                && f.check() == Verdict.Check.CHAIN_CONTENT && f.mismatchOffset() == 131072), v.toString());
    }

    @Test
    void closeKillsAndRemovesSocket() {
        Chain c = ChainBuilder.seed(tmp.resolve("src"), true);
        QemuNbdServer s = QemuNbdServer.serveLayerAlone(c.top().path(), tmp);
        ProcessHandle h = ProcessHandle.of(s.pid()).orElseThrow();
        s.close();
        assertFalse(h.isAlive());
        assertFalse(Files.exists(s.socket()));
        s.close(); // idempotent
    }

    @Test
    void failedStartReportsQemuNbdError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> QemuNbdServer.serveLayerAlone(tmp.resolve("missing.qcow2"), tmp));
        assertTrue(e.getMessage().contains("qemu-nbd"), e.getMessage());
        assertTrue(e.getMessage().contains("missing.qcow2"), e.getMessage());
    }
}
