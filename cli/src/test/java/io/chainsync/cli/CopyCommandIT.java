package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import io.chainsync.testkit.StdCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code chainsync copy} as a user runs it: arguments in, exit code and one error line out. */
class CopyCommandIT {

    @TempDir
    Path tmp;

    @Test
    void seedChainIsReconstructed() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        List<NbdServer> servers = new ArrayList<>();
        try {
            List<String> args = new ArrayList<>(List.of("copy", "--dest", tmp.resolve("dest").toString()));
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, Files.createDirectories(tmp.resolve("s")));
                servers.add(server);
                args.add("--layer");
                args.add(layer.name() + "=" + server.uri());
            }
            Result r = run(args.toArray(String[]::new));
            assertEquals(0, r.code, r.err);
        } finally {
            servers.forEach(NbdServer::close);
        }
        ChainJudge.assertExact(chain, tmp.resolve("dest"));
    }

    @Test
    void badArgumentsAreAUsageError() {
        Result r = run("copy", "--dest", tmp.toString(), "--layer", "top.qcow2");
        assertEquals(Main.EXIT_USAGE, r.code);
        assertTrue(r.err.contains("NAME=NBD_URI"), r.err);
        r = run("copy", "--dest", tmp.toString(), "--layer", "x=ftp://host/");
        assertEquals(Main.EXIT_USAGE, r.code);
        r = run("copy", "--dest", tmp.toString(), "--layer", "a.qcow2=nbd://h/a", "--cluster-size", "1000");
        assertEquals(Main.EXIT_USAGE, r.code);
        assertTrue(r.err.contains("cluster size"), r.err);
    }

    @Test
    void unreachableServerIsOneLineNamingTheLayer() {
        Result r = run("copy", "--dest", tmp.resolve("d").toString(),
                "--layer", "base.qcow2=nbd+unix:///?socket=" + tmp.resolve("nothing.sock"));
        assertEquals(Main.EXIT_FAILED, r.code);
        assertTrue(r.err.startsWith("chainsync: layer base.qcow2: "), r.err);
        assertEquals(1, r.err.strip().lines().count(), r.err);
    }

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StdCapture.Result r = StdCapture.run(() -> Main.run(args));
        return new Result(r.code(), r.out(), r.err());
    }
}
