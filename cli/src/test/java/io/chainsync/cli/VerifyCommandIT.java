package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.Chain;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuImg;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code chainsync verify} as a user runs it after {@code copy}: one line per layer, exit code. */
class VerifyCommandIT {

    @TempDir
    Path tmp;

    @Test
    void copyVerifyThenTamperAndVerifyAgainstSourcesAndManifests() throws Exception {
        Chain chain = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        List<NbdServer> servers = new ArrayList<>();
        try {
            List<String> layers = new ArrayList<>();
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, Files.createDirectories(tmp.resolve("s")));
                servers.add(server);
                layers.add("--layer");
                layers.add(layer.name() + "=" + server.uri());
            }
            String dest = tmp.resolve("dest").toString();
            List<String> copy = new ArrayList<>(List.of("copy", "--verify", "--dest", dest));
            copy.addAll(layers);
            CopyCommandIT.Result c = CopyCommandIT.run(copy.toArray(String[]::new));
            assertEquals(0, c.code(), c.err());
            assertTrue(c.out().contains("VERIFIED base.raw") && c.out().contains("VERIFIED top.qcow2"), c.out());
            List<String> verify = new ArrayList<>(List.of("verify", "--dest", dest));
            verify.addAll(layers);
            CopyCommandIT.Result r = CopyCommandIT.run(verify.toArray(String[]::new));
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("VERIFIED base.raw") && r.out().contains("VERIFIED top.qcow2"), r.out());
            // the sources gone: the manifests recorded by verify suffice
            servers.forEach(NbdServer::close);
            CopyCommandIT.Result m = CopyCommandIT.run("verify", "--manifest", "--dest", dest);
            assertEquals(0, m.code(), m.out() + m.err());
            assertTrue(m.out().contains("VERIFIED base.raw") && m.out().contains("VERIFIED top.qcow2"), m.out());
            // the top's data cluster D written over with the base's C: same allocation, other bytes
            QemuImg.io(tmp.resolve("dest").resolve("top.qcow2"), "qcow2", "write -P 0x43 64k 4k");
            m = CopyCommandIT.run("verify", "--manifest", "--dest", dest);
            assertEquals(Main.EXIT_FAILED, m.code(), m.out());
            assertTrue(m.out().contains("VERIFIED base.raw")
                    && m.out().contains("DIFFERS top.qcow2: content digest differs from the manifest"), m.out());
            for (Layer layer : chain.layers()) { // the same sources again
                servers.add(QemuNbdServer.serveLayer(layer, tmp.resolve("s")));
            }
            List<String> again = new ArrayList<>(List.of("verify", "--dest", dest));
            for (int i = 0; i < chain.layers().size(); i++) {
                again.add("--layer");
                again.add(chain.layers().get(i).name() + "=" + servers.get(servers.size() - 2 + i).uri());
            }
            r = CopyCommandIT.run(again.toArray(String[]::new));
            assertEquals(Main.EXIT_FAILED, r.code(), r.out());
            assertTrue(r.out().contains("DIFFERS top.qcow2 at offset 65536: content"), r.out());
        } finally {
            servers.forEach(NbdServer::close);
        }
    }
}
