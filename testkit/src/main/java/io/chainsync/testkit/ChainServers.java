package io.chainsync.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every layer of a chain served alone by its own qemu-nbd ({@link QemuNbdServer#serveLayer}), bottom first. */
public final class ChainServers implements AutoCloseable {

    private final List<NbdServer> servers;
    private final Map<String, String> uris;

    private ChainServers(List<NbdServer> servers, Map<String, String> uris) {
        this.servers = servers;
        this.uris = uris;
    }

    /** Serves each layer of the chain, its sockets in {@code sockDir}; all or none. */
    public static ChainServers serve(Chain chain, Path sockDir) {
        List<NbdServer> servers = new ArrayList<>();
        Map<String, String> uris = new LinkedHashMap<>();
        try {
            for (Layer layer : chain.layers()) {
                QemuNbdServer server = QemuNbdServer.serveLayer(layer, sockDir);
                servers.add(server);
                uris.put(layer.name(), server.uri());
            }
        } catch (RuntimeException e) {
            servers.forEach(NbdServer::close);
            throw e;
        }
        return new ChainServers(servers, uris);
    }

    /** Layer name → NBD URI, bottom first. */
    public Map<String, String> uris() {
        return uris;
    }

    @Override
    public void close() {
        servers.forEach(NbdServer::close);
    }
}
