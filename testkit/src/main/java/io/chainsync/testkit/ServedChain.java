package io.chainsync.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Every layer of a chain served alone by its own qemu-nbd, as the CLI's {@code --layer} options name them. */
public final class ServedChain implements AutoCloseable {

    private final List<QemuNbdServer> servers = new ArrayList<>();
    private final List<String> layerArgs = new ArrayList<>();

    /** Serves the layers of {@code chain}, bottom first, with their sockets in {@code sockDir}. */
    public ServedChain(Chain chain, Path sockDir) {
        try {
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, sockDir);
                servers.add(server);
                layerArgs.add("--layer");
                layerArgs.add(layer.name() + "=" + server.uri());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** {@code --layer NAME=URI} for every layer, bottom first. */
    public List<String> layerArgs() {
        return List.copyOf(layerArgs);
    }

    @Override
    public void close() {
        servers.forEach(NbdServer::close);
    }
}
