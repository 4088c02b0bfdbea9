package io.chainsync.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.core.Action;
import io.chainsync.core.Decider;
import io.chainsync.core.DecisionTable;
import io.chainsync.nbd.NbdUri;
import io.chainsync.qcow2.Qcow2Reader;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.testkit.BackupSeries;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.QemuImg;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LayerVerifier} against real qemu-nbd sources: a flipped byte, a dropped zero cluster, an
 * extra cluster and a wrong backing name are each caught with the layer and the first offset
 * (docs/design.md §4, "Verification"); incremental backups verify against their bitmaps. That
 * every copy scenario verifies, {@link ChainCopierIT} shows on the copies it judges.
 */
class VerifyIT {

    private static final long K64 = 65536;

    @TempDir
    Path tmp;

    @Test
    void aFlippedByteInADataClusterIsFoundAtItsOffset() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        List<LayerVerifier.Outcome> outcomes = copyAndVerify(chain, Decider.TABLE, dest -> {
            Path top = dest.resolve("top.qcow2");
            long host;
            try (Qcow2Reader reader = Qcow2Reader.open(top)) {
                host = reader.hostOffset(1); // the D cluster
            }
            try (FileChannel ch = FileChannel.open(top, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(1);
                ch.read(b, host + 100);
                b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
                ch.write(b, host + 100);
            }
        });
        assertTrue(outcomes.get(0).verified(), outcomes.get(0).line());
        assertEquals("DIFFERS top.qcow2 at offset " + (K64 + 100) + ": content of the layer read alone differs",
                outcomes.get(1).line());
    }

    @Test
    void aDroppedZeroClusterIsFoundAtItsOffset() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        Decider dropZeroes = (mode, base, second) -> {
            Action a = Decider.TABLE.decide(mode, base, second);
            return a == Action.ZERO ? Action.SKIP : a;
        };
        List<LayerVerifier.Outcome> outcomes = copyAndVerify(chain, dropZeroes, dest -> { });
        LayerVerifier.Outcome top = outcomes.get(1);
        assertEquals("top.qcow2", top.layer());
        assertEquals(2 * K64, top.firstDifference(), top.line());
        assertTrue(top.reason().contains("the source layer provides this range"), top.line());
    }

    @Test
    void anExtraAllocatedClusterIsFoundAtItsOffset() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        Decider zeroAbsent = (mode, base, second) -> mode == DecisionTable.Mode.ALLOCATION_DEPTH && second == 0
                ? Action.ZERO : Decider.TABLE.decide(mode, base, second);
        List<LayerVerifier.Outcome> outcomes = copyAndVerify(chain, zeroAbsent, dest -> { });
        LayerVerifier.Outcome top = outcomes.get(1);
        assertEquals(0, top.firstDifference(), top.line());
        assertTrue(top.reason().contains("the rebuilt layer provides this range"), top.line());
    }

    @Test
    void aWrongBackingNameIsFound() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        List<LayerVerifier.Outcome> outcomes = copyAndVerify(chain, Decider.TABLE,
                dest -> QemuImg.rebaseUnsafe(dest.resolve("top.qcow2"), "other.qcow2", "qcow2"));
        assertEquals("DIFFERS top.qcow2: backing file other.qcow2, expected base.qcow2", outcomes.get(1).line());
    }

    @Test
    void incrementalBackupsVerifyAgainstTheirBitmaps() throws Exception {
        BackupSeries series = BackupSeries.build(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        for (BackupSeries.Point point : series.points()) {
            try (QemuNbdServer server = point.serve(sockets)) {
                CopyOptions options = CopyOptions.defaults().withDirtyBitmap(point.bitmap())
                        .withBacking(point.backing());
                List<LayerSpec> layer = List.of(new LayerSpec(point.backup(), NbdUri.parse(server.uri())));
                new ChainCopier(dest, options, CopyProgress.NONE).copy(layer);
                LayerVerifier.Outcome o = new LayerVerifier(dest, options).verify(layer).get(0);
                assertTrue(o.verified(), o.line());
            }
        }
    }

    interface Tamper {
        void apply(Path dest) throws Exception;
    }

    private List<LayerVerifier.Outcome> copyAndVerify(Chain chain, Decider decider, Tamper tamper) throws Exception {
        Path dest = tmp.resolve("dest");
        return ServedCopy.copy(chain, tmp, dest, QemuNbdServer::serveLayer, decider, CopyOptions.defaults(), specs -> {
            tamper.apply(dest);
            return new LayerVerifier(dest, CopyOptions.defaults()).verify(specs);
        });
    }
}
