package io.chainsync.stack;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback port helpers. */
final class Ports {

    private Ports() {
    }

    /** A port that was free on 127.0.0.1 a moment ago (the usual bind-to-0 race applies). */
    static int free() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(KafkaBroker.HOST))) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    /** Whether {@code port} can be bound on 127.0.0.1 right now. */
    static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new java.net.InetSocketAddress(InetAddress.getByName(KafkaBroker.HOST), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
