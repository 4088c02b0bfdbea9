package io.chainsync.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.core.MetaContexts;
import io.chainsync.nbd.protocol.BlockStatusExtent;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.NbdServer;
import io.chainsync.testkit.QemuImg;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.TestPki;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client over TLS against real qemu-nbd servers ({@code --object tls-creds-x509|tls-creds-psk
 * ... --tls-creds tls0}, TLS required) on TCP (127.0.0.1, a free port) and on Unix sockets, with
 * certificates made by certtool for the test. What comes through TLS must equal what a plaintext
 * qemu-nbd serving the same image gives; every refusal must be one clear error and never a plaintext
 * fallback.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NbdTlsIT {

    private static final int MIB = 1024 * 1024;
    private static final long SIZE = 8L * MIB;
    private static final String HOST = "127.0.0.1";
    private static final String PSK_USER = "chainsync";

    @TempDir
    static Path dir;

    private final List<NbdServer> servers = new ArrayList<>();
    private NbdServer plain;
    private NbdServer tlsUnix;
    private NbdServer tlsTcp;
    private NbdServer wrongNameTcp;
    private NbdServer noClientAuthUnix;
    private NbdServer pskUnix;
    private NbdServer pskTcp;
    private NbdServer writableTls;
    private Path clientDir;
    private Path clientEcDir;
    private Path wrongCaDir;
    private Path noClientCertDir;
    private Path pskFile;
    private Path wrongPskFile;
    private TestPki.Ca ca;

    @BeforeAll
    void start() throws Exception {
        // a two-layer chain; the top layer alone is served (backing:null, -A), as docs/design.md §2
        Chain chain = ChainBuilder.in(dir.resolve("img")).size(SIZE).clusterSize(64 * 1024)
                .base("base.qcow2").pattern(ChainBuilder.randomPattern(new Random(7), 128, "ABC-"))
                .layer("top.qcow2").pattern(ChainBuilder.randomPattern(new Random(8), 128, "DE0~----"))
                .build();
        Path top = chain.top().path();
        byte[] noise = new byte[3 * MIB / 2];
        new Random(9).nextBytes(noise);
        Path noiseFile = dir.resolve("noise.bin");
        Files.write(noiseFile, noise);
        QemuImg.io(top, "qcow2", "write -s " + noiseFile + " " + (2 * MIB + 4096) + " " + noise.length)
                .expectSuccess();
        String spec = QemuImg.aloneSpec(top, "qcow2");

        Path pki = dir.resolve("pki");
        ca = TestPki.ca(pki.resolve("ca"), "chainsync test CA");
        TestPki.Ca otherCa = TestPki.ca(pki.resolve("other-ca"), "some other CA");
        Path serverDir = TestPki.serverDir(pki.resolve("server"), ca, List.of("localhost"), List.of(HOST));
        Path wrongNameDir = TestPki.serverDir(pki.resolve("server-wrong-name"), ca, List.of("nbd.invalid"), List.of());
        clientDir = TestPki.clientDir(pki.resolve("client"), ca, ca, "rsa");
        clientEcDir = TestPki.clientDir(pki.resolve("client-ec"), ca, ca, "ecdsa");
        wrongCaDir = TestPki.clientDir(pki.resolve("client-wrong-ca"), otherCa, ca, "ecdsa");
        noClientCertDir = TestPki.clientDir(pki.resolve("client-no-cert"), ca, null, null);
        byte[] key = TestPki.randomKey();
        Path pskDir = TestPki.pskDir(pki.resolve("psk"), PSK_USER, key);
        pskFile = pskDir.resolve("keys.psk");
        wrongPskFile = TestPki.pskDir(pki.resolve("psk-wrong"), PSK_USER, TestPki.randomKey()).resolve("keys.psk");

        plain = serve(QemuNbdServer.builder(spec, "qcow2").start(dir));
        tlsUnix = serve(QemuNbdServer.builder(spec, "qcow2").arg(TestPki.qemuX509(serverDir, true)).start(dir));
        tlsTcp = serve(QemuNbdServer.builder(spec, "qcow2").arg(TestPki.qemuX509(serverDir, true)).startTcp(HOST));
        wrongNameTcp = serve(QemuNbdServer.builder(spec, "qcow2").arg(TestPki.qemuX509(wrongNameDir, true)).startTcp(HOST));
        noClientAuthUnix = serve(QemuNbdServer.builder(spec, "qcow2").arg(TestPki.qemuX509(serverDir, false)).start(dir));
        pskUnix = serve(QemuNbdServer.builder(spec, "qcow2").arg(TestPki.qemuPsk(pskDir)).start(dir));
        pskTcp = serve(QemuNbdServer.builder(spec, "qcow2").arg(TestPki.qemuPsk(pskDir)).startTcp(HOST));
        Path scratch = dir.resolve("scratch.raw");
        QemuImg.create(scratch, "raw", 4 * MIB);
        writableTls = serve(QemuNbdServer.builder(scratch.toString(), "raw").writable().allocationDepth(false)
                .shared(1).arg(TestPki.qemuX509(serverDir, true)).start(dir));
    }

    private NbdServer serve(NbdServer server) {
        servers.add(server);
        return server;
    }

    @AfterAll
    void stop() {
        servers.forEach(NbdServer::close);
    }

    // ------------------------------------------------------------------ helpers

    private static NbdUri plainUri(NbdServer server) {
        return NbdUri.parse(server.uri());
    }

    private static NbdUri tls(NbdServer server, NbdTls settings) {
        return plainUri(server).withTls(settings);
    }

    private static NbdClient.Options contexts() {
        return NbdClient.Options.defaults().withMetaContexts(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
    }

    /** The whole export, read in requests of up to 1 MiB. */
    private static byte[] readAll(NbdClient client) throws IOException {
        ByteBuffer all = ByteBuffer.allocate((int) client.size());
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        for (int offset = 0; offset < client.size(); offset += MIB) {
            reads.add(client.read(offset, all.slice(offset, (int) Math.min(MIB, client.size() - offset))));
        }
        NbdClient.await(CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)));
        return all.array();
    }

    /** Every extent of each context over the whole export, walked with block status requests. */
    private static Map<String, List<BlockStatusExtent>> blockStatus(NbdClient client) throws IOException {
        Map<String, List<BlockStatusExtent>> all = new LinkedHashMap<>();
        for (String context : List.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH)) {
            List<BlockStatusExtent> extents = new ArrayList<>();
            long offset = 0;
            while (offset < client.size()) {
                BlockStatus status = NbdClient.await(client.blockStatus(offset, client.size() - offset, false));
                for (BlockStatusExtent extent : status.extents(context)) {
                    long length = Math.min(extent.length(), client.size() - offset);
                    extents.add(new BlockStatusExtent(length, extent.flags()));
                    offset += length;
                }
            }
            all.put(context, merge(extents));
        }
        return all;
    }

    /** Adjacent extents with equal flags as one (replies may split differently). */
    private static List<BlockStatusExtent> merge(List<BlockStatusExtent> extents) {
        List<BlockStatusExtent> merged = new ArrayList<>();
        for (BlockStatusExtent extent : extents) {
            int last = merged.size() - 1;
            if (last >= 0 && merged.get(last).flags() == extent.flags()) {
                merged.set(last, new BlockStatusExtent(merged.get(last).length() + extent.length(), extent.flags()));
            } else {
                merged.add(extent);
            }
        }
        return merged;
    }

    private record Snapshot(byte[] data, Map<String, List<BlockStatusExtent>> extents) {
    }

    private static Snapshot snapshot(NbdUri uri, NbdClient.Options options) throws IOException {
        try (NbdClient client = NbdClient.connect(uri, options)) {
            if (uri.isTls()) {
                // X.509 through the JDK: TLS 1.3 (qemu 7.2's GnuTLS offers it); PSK through Bouncy Castle: TLS 1.2
                assertTrue(client.transport().startsWith(uri.tls().orElseThrow().isPsk() ? "TLSv1.2 PSK" : "TLSv1.3 "),
                        client.transport());
            } else {
                assertEquals("plaintext", client.transport());
            }
            assertEquals(SIZE, client.size());
            assertEquals(java.util.Set.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH),
                    client.metaContexts());
            return new Snapshot(readAll(client), blockStatus(client));
        }
    }

    private Snapshot plaintext;

    private Snapshot plaintext() throws IOException {
        if (plaintext == null) {
            plaintext = snapshot(plainUri(plain), contexts());
            assertTrue(plaintext.extents().get(MetaContexts.ALLOCATION_DEPTH).size() > 2, "a varied layer");
        }
        return plaintext;
    }

    private void assertSameAsPlaintext(NbdUri uri, NbdClient.Options options) throws IOException {
        Snapshot expected = plaintext();
        Snapshot actual = snapshot(uri, options);
        assertArrayEquals(expected.data(), actual.data(), "bytes read over " + uri);
        assertEquals(expected.extents(), actual.extents(), "block status over " + uri);
    }

    private static NbdException connectFails(NbdUri uri) {
        return assertThrows(NbdException.class, () -> NbdClient.connect(uri, contexts()).close());
    }

    // ------------------------------------------------------------------ X.509

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void x509OverTcpReadsWhatPlaintextReads() throws IOException {
        NbdUri uri = tls(tlsTcp, NbdTls.certificates(clientDir));
        assertEquals("nbds://127.0.0.1:" + tlsTcp.tcpAddress().getPort() + "/?tls-certificates=" + clientDir,
                uri.toString());
        assertSameAsPlaintext(uri, contexts());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void x509OverTcpByHostNameWithAnEcClientKey() throws IOException {
        NbdUri uri = NbdUri.parse("nbds://localhost:" + tlsTcp.tcpAddress().getPort() + "/?tls-certificates="
                + clientEcDir);
        org.junit.jupiter.api.Assumptions.assumeTrue(
                java.net.InetAddress.getByName("localhost").getHostAddress().equals(HOST),
                "localhost resolves to 127.0.0.1 (the server listens there only)");
        assertSameAsPlaintext(uri, contexts());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void x509OverUnixSocketReadsWhatPlaintextReads() throws IOException {
        NbdUri uri = NbdUri.parse("nbds+unix:///?socket=" + tlsUnix.socket() + "&tls-certificates=" + clientDir);
        assertSameAsPlaintext(uri, contexts());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void x509WithSeveralConnectionsAndManyRequestsInFlight() throws Exception {
        NbdUri uri = tls(tlsTcp, NbdTls.certificates(clientDir));
        try (NbdClient client = NbdClient.connect(uri, contexts().withConnections(4).withMaxInFlight(64))) {
            assertEquals(4, client.connectionCount());
            byte[] expected = plaintext().data();
            ByteBuffer all = ByteBuffer.allocate((int) SIZE);
            List<CompletableFuture<Void>> reads = new ArrayList<>();
            int step = 12_345; // many records, unaligned to TLS records and to clusters
            for (int offset = 0; offset < SIZE; offset += step) {
                int length = (int) Math.min(step, SIZE - offset);
                reads.add(client.read(offset, all.slice(offset, length)));
            }
            NbdClient.await(CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)));
            assertArrayEquals(expected, all.array());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void x509WritesAndReadsBack() throws Exception {
        NbdUri uri = NbdUri.parse("nbds+unix:///?socket=" + writableTls.socket() + "&tls-certificates=" + clientDir);
        byte[] data = new byte[3 * MIB];
        new Random(11).nextBytes(data);
        try (NbdClient client = NbdClient.connect(uri, NbdClient.Options.defaults())) {
            assertFalse(client.readOnly());
            NbdClient.await(client.write(4096, ByteBuffer.wrap(data), false));
            NbdClient.await(client.flush());
        }
        try (NbdClient client = NbdClient.connect(uri, NbdClient.Options.defaults())) {
            ByteBuffer back = ByteBuffer.allocate(data.length);
            client.readFully(4096, back);
            assertArrayEquals(data, back.array());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void withoutClientCertificateWhenTheServerDoesNotAskForOne() throws IOException {
        NbdUri uri = NbdUri.parse("nbds+unix:///?socket=" + noClientAuthUnix.socket() + "&tls-certificates="
                + noClientCertDir);
        assertSameAsPlaintext(uri, contexts());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void listMetaContextsOverTls() throws IOException {
        NbdUri uri = tls(tlsTcp, NbdTls.certificates(clientDir));
        assertEquals(List.of(MetaContexts.ALLOCATION_DEPTH), NbdClient.listMetaContexts(uri, "qemu:"));
    }

    // ------------------------------------------------------------------ X.509 failures

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void wrongCaIsOneClearPermanentError() {
        NbdException e = connectFails(tls(tlsTcp, NbdTls.certificates(wrongCaDir)));
        assertTrue(e.getMessage().contains("TLS handshake with nbds://127.0.0.1"), e.getMessage());
        assertTrue(e.getMessage().contains("not signed by a CA of " + wrongCaDir.resolve("ca-cert.pem")),
                e.getMessage());
        assertInstanceOf(SSLHandshakeException.class, e.getCause());
        assertFalse(NbdErrors.isTransient(e), "a wrong CA does not heal by retrying");

        NbdException unix = connectFails(NbdUri.parse("nbds+unix:///?socket=" + tlsUnix.socket()
                + "&tls-certificates=" + wrongCaDir));
        assertTrue(unix.getMessage().contains("not signed by a CA of"), unix.getMessage());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void serverCertificateMustNameTheHost() {
        NbdException e = connectFails(tls(wrongNameTcp, NbdTls.certificates(clientDir)));
        assertTrue(e.getMessage().contains("does not name 127.0.0.1"), e.getMessage());
        assertInstanceOf(SSLHandshakeException.class, e.getCause());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void revokedServerCertificateIsRefused() throws IOException {
        Path revokedDir = TestPki.clientDir(dir.resolve("pki/client-crl"), ca, ca, "ecdsa");
        TestPki.revoke(ca, dir.resolve("pki/server/server-cert.pem"), revokedDir.resolve("ca-crl.pem"));
        NbdException e = connectFails(tls(tlsTcp, NbdTls.certificates(revokedDir)));
        assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("revoked"), e.getMessage());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void serverThatWantsAClientCertificateRefusesAClientWithout() {
        // TLS 1.3: the server checks the client after the client's handshake finished, and qemu-nbd then
        // hangs up without an alert; TLS 1.2 would fail inside the handshake. Either way: one clear error.
        NbdException e = connectFails(tls(tlsTcp, NbdTls.certificates(noClientCertDir)));
        assertTrue(e.getMessage().contains("client certificate"), e.getMessage());
        assertTrue(e.getMessage().contains("no client-cert.pem in " + noClientCertDir), e.getMessage());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void missingCaCertificateIsAClearError() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("pki/empty"));
        NbdException e = connectFails(tls(tlsTcp, NbdTls.certificates(empty)));
        assertTrue(e.getMessage().contains(empty.resolve("ca-cert.pem") + " not found"), e.getMessage());
    }

    // ------------------------------------------------------------------ no plaintext either way

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void plaintextClientToTlsOnlyServerIsToldToUseNbds() {
        for (NbdServer server : List.of(tlsTcp, tlsUnix)) {
            NbdException e = connectFails(plainUri(server));
            assertTrue(e.getMessage().contains("server requires TLS (use nbds://)"), e.getMessage());
            assertFalse(e.getMessage().contains("structured replies"), e.getMessage());
            assertFalse(NbdErrors.isTransient(e));
            // the same without metadata contexts (NBD_OPT_GO is the first refused option then)
            NbdException go = assertThrows(NbdException.class,
                    () -> NbdClient.connect(plainUri(server), NbdClient.Options.defaults()).close());
            assertTrue(go.getMessage().contains("server requires TLS (use nbds://)"), go.getMessage());
            NbdException list = assertThrows(NbdException.class, () -> NbdClient.listMetaContexts(plainUri(server), ""));
            assertTrue(list.getMessage().contains("server requires TLS (use nbds://)"), list.getMessage());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void tlsClientToPlaintextServerStops() {
        NbdException e = connectFails(NbdUri.parse("nbds+unix:///?socket=" + plain.socket() + "&tls-certificates="
                + clientDir));
        assertTrue(e.getMessage().contains("refused NBD_OPT_STARTTLS"), e.getMessage());
        assertTrue(e.getMessage().contains("never falls back to plaintext"), e.getMessage());
        assertFalse(NbdErrors.isTransient(e));
    }

    // ------------------------------------------------------------------ PSK

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void pskOverUnixSocketAndTcpReadsWhatPlaintextReads() throws IOException {
        NbdUri unix = NbdUri.parse("nbds+unix://" + PSK_USER + "@/?socket=" + pskUnix.socket() + "&tls-psk-file="
                + pskFile);
        assertEquals(PSK_USER, unix.tls().orElseThrow().pskUsername());
        assertSameAsPlaintext(unix, contexts());
        assertSameAsPlaintext(tls(pskTcp, NbdTls.psk(pskFile, PSK_USER)), contexts().withConnections(2));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void pskWithTheWrongKeyFails() {
        NbdException e = connectFails(tls(pskTcp, NbdTls.psk(wrongPskFile, PSK_USER)));
        assertTrue(e.getMessage().contains("TLS-PSK handshake with"), e.getMessage());
        assertTrue(e.getMessage().contains(wrongPskFile.toString()), e.getMessage());
        assertFalse(NbdErrors.isTransient(e));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void pskUserMissingFromTheFileFailsBeforeStartTls() {
        NbdException e = connectFails(tls(pskUnix, NbdTls.psk(pskFile, "nobody")));
        assertTrue(e.getMessage().contains("user 'nobody' was not found"), e.getMessage());
    }
}
