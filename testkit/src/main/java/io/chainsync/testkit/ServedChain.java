package io.chainsync.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every layer of a chain served alone by its own qemu-nbd, as the CLI's {@code --layer} options name them. */
public final class ServedChain implements AutoCloseable {

    private final List<QemuNbdServer> servers = new ArrayList<>();
    private final Map<String, String> uris = new LinkedHashMap<>();

    /** Serves the layers of {@code chain}, bottom first, with their sockets in {@code sockDir}. */
    public ServedChain(Chain chain, Path sockDir) {
        try {
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, sockDir);
                servers.add(server);
                uris.put(layer.name(), server.uri());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** {@code --layer NAME=URI} for every layer, bottom first. */
    public List<String> layerArgs() {
        List<String> args = new ArrayList<>();
        uris.forEach((name, uri) -> {
            args.add("--layer");
            args.add(name + "=" + uri);
        });
        return args;
    }

    /** Layer name → NBD URI, bottom first. */
    public Map<String, String> uris() {
        return Collections.unmodifiableMap(uris);
    }

    @Override
    public void close() {
        servers.forEach(NbdServer::close);
    }
}
