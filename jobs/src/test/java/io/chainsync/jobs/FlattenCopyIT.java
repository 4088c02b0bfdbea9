package io.chainsync.jobs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.NbdUri;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.CompareResult;
import io.chainsync.testkit.QemuImg;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code copy --flatten}: a disk served with its whole chain attached becomes one layer holding
 * everything the guest sees (docs/design.md §1, FLATTEN).
 */
class FlattenCopyIT {

    @TempDir
    Path tmp;

    @Test
    void aChainServedWholeBecomesOneExactLayer() throws Exception {
        Chain chain = Scenarios.FOUR_LAYERS_RAW_BASE.build(tmp.resolve("src"));
        Path flat = copy(chain, CopyOptions.defaults().withFlatten(true));
        assertTrue(QemuImg.check(flat, "qcow2").isClean());
        assertNull(QemuImg.info(flat, "qcow2").backingFile());
        CompareResult r = QemuImg.compare(QemuImg.chainSpec(flat, "qcow2"), QemuImg.chainSpec(chain.top().path(),
                "qcow2"));
        assertTrue(r.identical(), r.message());
    }

    /** Without FLATTEN, the same server's depth context makes every range below the top a SKIP. */
    @Test
    void withoutFlattenTheLowerLayersAreDropped() throws Exception {
        Chain chain = Scenarios.FOUR_LAYERS_RAW_BASE.build(tmp.resolve("src"));
        Path top = copy(chain, CopyOptions.defaults());
        CompareResult r = QemuImg.compare(QemuImg.chainSpec(top, "qcow2"), QemuImg.chainSpec(chain.top().path(),
                "qcow2"));
        assertFalse(r.identical(), "a top-only copy must differ from the whole disk");
    }

    private Path copy(Chain chain, CopyOptions options) throws Exception {
        Path dest = tmp.resolve("dest");
        try (QemuNbdServer server = QemuNbdServer.serveWithBacking(chain.top().path(),
                Files.createDirectories(tmp.resolve("s")))) {
            new ChainCopier(dest, options, CopyProgress.NONE)
                    .copy(List.of(new LayerSpec("disk.qcow2", NbdUri.parse(server.uri()))));
        }
        return dest.resolve("disk.qcow2");
    }
}
