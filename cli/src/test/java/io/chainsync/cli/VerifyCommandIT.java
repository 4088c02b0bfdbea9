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
    void copyThenVerifyThenTamper() throws Exception {
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
            List<String> copy = new ArrayList<>(List.of("copy", "--dest", dest));
            copy.addAll(layers);
            assertEquals(0, CopyCommandIT.run(copy.toArray(String[]::new)).code());
            List<String> verify = new ArrayList<>(List.of("verify", "--dest", dest));
            verify.addAll(layers);
            CopyCommandIT.Result r = CopyCommandIT.run(verify.toArray(String[]::new));
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("VERIFIED base.raw") && r.out().contains("VERIFIED top.qcow2"), r.out());
            // the top's data cluster D written over with the base's C: same allocation, other bytes
            QemuImg.io(tmp.resolve("dest").resolve("top.qcow2"), "qcow2", "write -P 0x43 64k 4k");
            r = CopyCommandIT.run(verify.toArray(String[]::new));
            assertEquals(Main.EXIT_FAILED, r.code(), r.out());
            assertTrue(r.out().contains("DIFFERS top.qcow2 at offset 65536: content"), r.out());
        } finally {
            servers.forEach(NbdServer::close);
        }
    }
}
