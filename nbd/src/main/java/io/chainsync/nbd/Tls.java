package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdException;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertStore;
import java.security.cert.CertificateException;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS upgrade after the server acknowledged {@code NBD_OPT_STARTTLS}.
 *
 * <p>X.509 ({@code tls-certificates=DIR} or the default directories): the JDK's TLS (TLS 1.3 and 1.2
 * only, the JDK's default cipher suites) through an {@link SSLEngine} over the socket. The server's
 * chain must lead to a certificate of {@code ca-cert.pem} (the PKIX checks of the JDK), and over TCP the
 * server's certificate must name the URI's host (HTTPS endpoint identification: a DNS name matches a
 * DNS subjectAltName, an IP address an IP subjectAltName). Over a Unix socket there is no host name:
 * libnbd then checks none (it verifies the peer only for TCP), and neither does this client, but it
 * still verifies the chain against the CA. A client certificate is offered when {@code client-cert.pem}
 * and {@code client-key.pem} are present.
 *
 * <p>PSK ({@code tls-psk-file=FILE}): see {@link PskTransport} (the JDK has no external-PSK suites).
 */
final class Tls {

    private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    private Tls() {
    }

    /** The TLS handshake, with the credentials already loaded. */
    @FunctionalInterface
    interface Upgrade {
        /**
         * Runs the TLS handshake on the socket the server just acknowledged {@code NBD_OPT_STARTTLS} on.
         *
         * @throws NbdException naming the URI and what failed (certificate, alert, key)
         */
        Transport handshake(SocketChannel socket) throws IOException;
    }

    /**
     * Loads the URI's credentials (before {@code NBD_OPT_STARTTLS} is sent, so that a missing file
     * fails before the server is asked anything).
     *
     * @throws NbdException naming the URI and the file that is missing or malformed
     */
    static Upgrade prepare(NbdUri uri) throws IOException {
        NbdTls settings = uri.tls().orElseThrow(() -> new IllegalStateException(uri + " is not a TLS URI"));
        if (settings.isPsk()) {
            return PskTransport.prepare(uri, settings);
        }
        Optional<Path> dir = settings.certificateDirectory();
        SSLContext context = context(uri, dir);
        return socket -> handshake(socket, uri, context, dir);
    }

    private static Transport handshake(SocketChannel socket, NbdUri uri, SSLContext context, Optional<Path> dir)
            throws IOException {
        SSLEngine engine = uri.isUnix() ? context.createSSLEngine()
                : context.createSSLEngine(uri.host().orElseThrow(), uri.port());
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        List<String> protocols = new ArrayList<>(PROTOCOLS);
        protocols.retainAll(List.of(engine.getSupportedProtocols()));
        parameters.setProtocols(protocols.toArray(String[]::new));
        if (!uri.isUnix()) {
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
        }
        engine.setSSLParameters(parameters);
        try {
            return JsseTransport.handshake(socket, engine);
        } catch (SSLException e) {
            throw new NbdException("TLS handshake with " + uri + " failed: " + e.getMessage() + hint(e, uri, dir), e);
        } catch (java.io.EOFException e) {
            throw new NbdException("TLS handshake with " + uri + " failed: the server closed the connection"
                    + " (does it accept this client" + (dir.isPresent() && !hasClientCertificate(dir.get())
                    ? "? no client-cert.pem in " + dir.get() : "'s certificate?") + ")", e);
        }
    }

    private static String hint(SSLException e, NbdUri uri, Optional<Path> dir) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertPathValidatorException || t instanceof CertificateException) {
                if (t.getMessage() != null && t.getMessage().startsWith("No subject alternative")) {
                    return " (the server's certificate does not name " + uri.host().orElse("the host")
                            + ": it needs a subjectAltName with that DNS name or IP address)";
                }
                return " (the server's certificate is not signed by a CA of "
                        + dir.map(d -> d.resolve("ca-cert.pem").toString()).orElse("the system trust store") + ")";
            }
        }
        if (e instanceof SSLHandshakeException && e.getMessage() != null && e.getMessage().contains("certificate")
                && dir.isPresent() && !hasClientCertificate(dir.get())) {
            return " (the server may require a client certificate: no client-cert.pem in " + dir.get() + ")";
        }
        return "";
    }

    /**
     * Why a server may hang up right after a TLS handshake that looked fine to the client: with TLS 1.3
     * the server checks the client's certificate after the client has finished, and qemu-nbd then
     * closes the connection without an alert.
     */
    static String closedAfterHandshakeHint(NbdUri uri) {
        NbdTls settings = uri.tls().orElse(null);
        if (settings == null || settings.isPsk()) {
            return " after TLS was set up";
        }
        Optional<Path> dir = settings.certificateDirectory();
        return " after TLS was set up (did it refuse the client certificate? "
                + (dir.isPresent() && !hasClientCertificate(dir.get())
                ? "there is no client-cert.pem in " + dir.get() + ", and the server may require one)"
                : "check that the server trusts the CA of the client certificate)");
    }

    private static boolean hasClientCertificate(Path dir) {
        return Files.isRegularFile(dir.resolve("client-cert.pem"));
    }

    private static SSLContext context(NbdUri uri, Optional<Path> dir) throws IOException {
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
            KeyManager[] keys = null;
            if (dir.isEmpty()) {
                trust.init((KeyStore) null);
            } else {
                Path ca = dir.get().resolve("ca-cert.pem");
                if (!Files.isRegularFile(ca)) {
                    throw new NbdException("cannot use TLS for " + uri + ": " + ca + " not found (the "
                            + "tls-certificates directory must hold the CA certificate as ca-cert.pem)");
                }
                KeyStore anchors = KeyStore.getInstance("PKCS12");
                anchors.load(null, null);
                int i = 0;
                for (X509Certificate certificate : PemFiles.certificates(ca)) {
                    anchors.setCertificateEntry("ca-" + i++, certificate);
                }
                Path crl = dir.get().resolve("ca-crl.pem");
                if (Files.isRegularFile(crl)) {
                    PKIXBuilderParameters pkix = new PKIXBuilderParameters(anchors, new X509CertSelector());
                    pkix.addCertStore(CertStore.getInstance("Collection",
                            new CollectionCertStoreParameters(PemFiles.crls(crl))));
                    pkix.setRevocationEnabled(true);
                    trust.init(new CertPathTrustManagerParameters(pkix));
                } else {
                    trust.init(anchors);
                }
                keys = clientKeys(uri, dir.get());
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new NbdException("cannot use TLS for " + uri + ": " + e.getMessage(), e);
        }
    }

    /** {@code client-cert.pem} + {@code client-key.pem}, both or neither. */
    private static KeyManager[] clientKeys(NbdUri uri, Path dir) throws IOException, GeneralSecurityException {
        Path certificate = dir.resolve("client-cert.pem");
        Path key = dir.resolve("client-key.pem");
        boolean hasCertificate = Files.isRegularFile(certificate);
        boolean hasKey = Files.isRegularFile(key);
        if (!hasCertificate && !hasKey) {
            return null;
        }
        if (hasCertificate != hasKey) {
            throw new NbdException("cannot use TLS for " + uri + ": " + (hasCertificate ? certificate : key)
                    + " without " + (hasCertificate ? key : certificate) + " (a client certificate needs both)");
        }
        List<X509Certificate> chain = PemFiles.certificates(certificate);
        PrivateKey privateKey = PemFiles.privateKey(key);
        char[] password = "in-memory".toCharArray(); // the store never leaves this method
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("client", privateKey, password, chain.toArray(X509Certificate[]::new));
        KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        factory.init(store, password);
        return factory.getKeyManagers();
    }
}
