package io.chainsync.jobs;

import io.chainsync.core.Decider;
import io.chainsync.nbd.NbdUri;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuNbdServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * A chain copied by {@link ChainCopier} from qemu-nbd servers of its layers, then whatever the
 * test does with the copy while the sources are still served (verify it, tamper with it first).
 */
final class ServedCopy {

    /** What runs after the copy, with the layers' sources still up. */
    interface WhileServed<T> {
        T apply(List<LayerSpec> specs) throws Exception;
    }

    private ServedCopy() {
    }

    /** Serves each layer of {@code chain} (sockets under {@code tmp/s}), copies it to {@code dest}, then runs {@code after}. */
    static <T> T copy(Chain chain, Path tmp, Path dest, BiFunction<Layer, Path, QemuNbdServer> serve, Decider decider,
                      CopyOptions options, WhileServed<T> after) throws Exception {
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        List<NbdServer> servers = new ArrayList<>();
        try {
            List<LayerSpec> specs = new ArrayList<>();
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = serve.apply(layer, sockets);
                servers.add(server);
                specs.add(new LayerSpec(layer.name(), NbdUri.parse(server.uri())));
            }
            new ChainCopier(dest, options, CopyProgress.NONE, decider).copy(specs);
            return after.apply(specs);
        } finally {
            servers.forEach(NbdServer::close);
        }
    }
}
