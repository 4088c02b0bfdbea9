package io.chainsync.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The layers of a chain served by qemu-nbd with TLS required, for end-to-end tests of
 * {@code nbds://} sources: a test PKI ({@link TestPki}), X.509 over TCP and PSK over a Unix socket
 * ({@code --object tls-creds-x509|tls-creds-psk}), the client credentials (right and wrong), and
 * {@code --layer NAME=URI} arguments spelt as libnbd spells the URIs. The credential files are
 * plain files that every process of the test (CLI, scanner, copiers) can read.
 */
public final class TlsSources implements AutoCloseable {

    /** qemu-nbd listens here for TCP; the server certificate names it and {@code localhost}. */
    public static final String HOST = "127.0.0.1";
    public static final String PSK_USER = "chainsync";

    private final Path dir;
    private final Path serverDir;
    private final Path clientDir;
    private final Path wrongCaDir;
    private final Path pskDir;
    private final Path pskFile;
    private final Path wrongPskFile;
    private final List<NbdServer> servers = new ArrayList<>();

    private TlsSources(Path dir) throws IOException {
        this.dir = dir;
        Path pki = dir.resolve("pki");
        TestPki.Ca ca = TestPki.ca(pki.resolve("ca"), "chainsync test CA");
        TestPki.Ca otherCa = TestPki.ca(pki.resolve("other-ca"), "some other CA");
        serverDir = TestPki.serverDir(pki.resolve("server"), ca, List.of("localhost"), List.of(HOST));
        clientDir = TestPki.clientDir(pki.resolve("client"), ca, ca, "ecdsa");
        wrongCaDir = TestPki.clientDir(pki.resolve("client-wrong-ca"), otherCa, ca, "ecdsa");
        pskDir = TestPki.pskDir(pki.resolve("psk"), PSK_USER, TestPki.randomKey());
        pskFile = pskDir.resolve("keys.psk");
        wrongPskFile = TestPki.pskDir(pki.resolve("psk-wrong"), PSK_USER, TestPki.randomKey()).resolve("keys.psk");
    }

    /** Makes the PKI under {@code dir}; servers are started by the methods below. */
    public static TlsSources create(Path dir) {
        try {
            return new TlsSources(Files.createDirectories(dir));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The client's {@code tls-certificates} directory: the right CA and a client certificate. */
    public Path clientCertificates() {
        return clientDir;
    }

    /** A {@code tls-certificates} directory trusting another CA (its client certificate is valid). */
    public Path wrongCaCertificates() {
        return wrongCaDir;
    }

    public Path pskFile() {
        return pskFile;
    }

    /** A PSK file for the same user with another key. */
    public Path wrongPskFile() {
        return wrongPskFile;
    }

    /**
     * Serves the layer over TCP with X.509 credentials: {@code --layer NAME=URI} with the URI
     * {@code nbds://localhost:PORT/?tls-certificates=DIR} (or {@value #HOST} where {@code localhost}
     * does not resolve to it).
     */
    public List<String> x509Tcp(Layer layer, Path certificates) {
        String host = localhostIsHost() ? "localhost" : HOST;
        NbdServer server = serve(QemuNbdServer.layerBuilder(layer).arg(TestPki.qemuX509(serverDir, true))
                .startTcp(HOST));
        return layerArg(layer, "nbds://" + host + ":" + server.tcpAddress().getPort() + "/?tls-certificates="
                + certificates);
    }

    /**
     * Serves the layer on a Unix socket with PSK credentials: {@code --layer NAME=URI} with the URI
     * {@code nbds+unix:///?socket=PATH&tls-psk-file=FILE&tls-username=USER} (the user name as the
     * issue and qemu spell it; the URI's user info, as libnbd takes it, is covered by NbdTlsIT).
     */
    public List<String> pskUnix(Layer layer, Path psk) {
        NbdServer server = serve(QemuNbdServer.layerBuilder(layer).arg(TestPki.qemuPsk(pskDir)).start(sockets()));
        return layerArg(layer, "nbds+unix:///?socket=" + server.socket() + "&tls-psk-file=" + psk
                + "&tls-username=" + PSK_USER);
    }

    /** Serves the layer in plaintext only, yet names it with an {@code nbds+unix://} URI (X.509). */
    public List<String> plaintextServer(Layer layer) {
        NbdServer server = serve(QemuNbdServer.layerBuilder(layer).start(sockets()));
        return layerArg(layer, "nbds+unix:///?socket=" + server.socket() + "&tls-certificates=" + clientDir);
    }

    /** {@link #x509Tcp(Layer, Path)} for every layer of the chain. */
    public List<String> x509Tcp(Chain chain, Path certificates) {
        return eachLayer(chain, layer -> x509Tcp(layer, certificates));
    }

    /** {@link #pskUnix(Layer, Path)} for every layer of the chain. */
    public List<String> pskUnix(Chain chain, Path psk) {
        return eachLayer(chain, layer -> pskUnix(layer, psk));
    }

    /** {@link #plaintextServer(Layer)} for every layer of the chain. */
    public List<String> plaintextServers(Chain chain) {
        return eachLayer(chain, this::plaintextServer);
    }

    private static List<String> layerArg(Layer layer, String uri) {
        return List.of("--layer", layer.name() + "=" + uri);
    }

    private static List<String> eachLayer(Chain chain, Function<Layer, List<String>> args) {
        List<String> all = new ArrayList<>();
        for (Layer layer : chain.layers()) {
            all.addAll(args.apply(layer));
        }
        return all;
    }

    private NbdServer serve(NbdServer server) {
        servers.add(server);
        return server;
    }

    private Path sockets() {
        try {
            return Files.createDirectories(dir.resolve("s"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean localhostIsHost() {
        try {
            return InetAddress.getByName("localhost").getHostAddress().equals(HOST);
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Stops every server started so far. */
    @Override
    public void close() {
        servers.forEach(NbdServer::close);
        servers.clear();
    }
}
