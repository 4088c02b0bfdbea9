package io.chainsync.stack;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * What the secure local stack ({@code chainsync stack --secure}) authenticates with, made once in a directory and
 * kept, so that a restart keeps the certificate clients trust and the passwords they use:
 * <pre>
 *   DIR/ca.pem               the local CA's certificate (PEM): what clients trust
 *   DIR/truststore.p12       the same certificate in a PKCS12 trust store (password: store.password)
 *   DIR/server.p12           the server's EC P-256 key and its certificate chain (PKCS12, alias "server")
 *   DIR/secrets.properties   store.password, the client's and the broker's SCRAM user names and passwords (0600)
 * </pre>
 * The server certificate names {@value KafkaBroker#HOST} (IP) and {@code localhost} (DNS), is valid for 10 years
 * and is signed by a CA made for this directory alone (EC P-256, SHA256withECDSA; Bouncy Castle builds the
 * certificates, the JDK makes the keys and the stores). The CA's private key is discarded once it signed: nothing
 * else can be issued under it. Everything is written into {@code DIR.tmp} first and renamed, so an interrupted
 * first start leaves no half-made directory. Passwords are 32 hex digits from {@link SecureRandom}.
 */
public final class StackCredentials {

    /** The SASL mechanism of the secure broker. */
    public static final String SCRAM_MECHANISM = "SCRAM-SHA-512";
    /** The user name the clients authenticate as. */
    public static final String CLIENT_USER = "chainsync";
    /** The user name the broker authenticates to itself as (inter-broker listener). */
    public static final String BROKER_USER = "chainsync-broker";
    /** Alias of the server's key in {@link #keystore()}. */
    public static final String SERVER_ALIAS = "server";
    /** Store type of the trust and key stores. */
    public static final String STORE_TYPE = "PKCS12";

    private static final Duration VALIDITY = Duration.ofDays(3650);
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final String SECRETS = "secrets.properties";

    private final Path dir;
    private final String storePassword;
    private final String clientPassword;
    private final String brokerPassword;

    private StackCredentials(Path dir, String storePassword, String clientPassword, String brokerPassword) {
        this.dir = dir;
        this.storePassword = storePassword;
        this.clientPassword = clientPassword;
        this.brokerPassword = brokerPassword;
    }

    /** Reads the credentials kept in {@code dir}, making them first when the directory does not exist. */
    public static StackCredentials ensure(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        try {
            if (!Files.exists(d)) {
                create(d);
            }
            return read(d);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prepare the stack's credentials in " + d, e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("Cannot make the stack's certificates in " + d + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code dir} holds credentials made by {@link #ensure}. */
    public static boolean existIn(Path dir) {
        return Files.isRegularFile(dir.resolve(SECRETS));
    }

    public Path dir() {
        return dir;
    }

    /** The local CA's certificate, PEM. */
    public Path caCertificate() {
        return dir.resolve("ca.pem");
    }

    /** PKCS12 trust store holding the CA's certificate. */
    public Path truststore() {
        return dir.resolve("truststore.p12");
    }

    /** PKCS12 key store holding the server's key and certificate chain. */
    public Path keystore() {
        return dir.resolve("server.p12");
    }

    /** Password of both stores (and of the server key). */
    public String storePassword() {
        return storePassword;
    }

    public String clientPassword() {
        return clientPassword;
    }

    public String brokerPassword() {
        return brokerPassword;
    }

    /**
     * What a Kafka client needs to reach the secure broker (the file {@code --kafka-config} reads): SASL_SSL,
     * SCRAM as {@value #CLIENT_USER}, the CA as trust store.
     */
    public Map<String, String> kafkaClientProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", SCRAM_MECHANISM);
        p.put("sasl.jaas.config", scramJaas(CLIENT_USER, clientPassword));
        p.put("ssl.truststore.type", STORE_TYPE);
        p.put("ssl.truststore.location", truststore().toString());
        p.put("ssl.truststore.password", storePassword);
        return p;
    }

    /**
     * What the Apicurio registry client needs to reach the registry over HTTPS (the file {@code --registry-config}
     * reads): the CA as trust store.
     */
    public Map<String, String> registryClientProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("apicurio.registry.request.ssl.truststore.location", truststore().toString());
        p.put("apicurio.registry.request.ssl.truststore.type", STORE_TYPE);
        p.put("apicurio.registry.request.ssl.truststore.password", storePassword);
        return p;
    }

    /** A TLS context trusting the CA alone (the stack's own health checks). */
    public SSLContext sslContext() {
        try (InputStream in = Files.newInputStream(truststore())) {
            KeyStore ks = KeyStore.getInstance(STORE_TYPE);
            ks.load(in, storePassword.toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + truststore(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot load " + truststore() + ": " + e.getMessage(), e);
        }
    }

    /** A JAAS line for Kafka's SCRAM login module. */
    public static String scramJaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    private static StackCredentials read(Path dir) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(dir.resolve(SECRETS), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        String store = p.getProperty("store.password");
        String client = p.getProperty("client.password");
        String broker = p.getProperty("broker.password");
        if (store == null || client == null || broker == null || !Files.isRegularFile(dir.resolve("server.p12"))
                || !Files.isRegularFile(dir.resolve("truststore.p12"))) {
            throw new IllegalStateException("Incomplete stack credentials in " + dir
                    + " (needs secrets.properties, server.p12, truststore.p12): remove the directory to make new ones");
        }
        return new StackCredentials(dir, store, client, broker);
    }

    private static void create(Path dir) throws IOException, GeneralSecurityException, OperatorCreationException {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
        deleteTree(tmp);
        Files.createDirectories(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        SecureRandom random = new SecureRandom();
        String storePassword = password(random);

        KeyPair caKeys = ecKeyPair(random);
        X500Name caName = new X500Name("CN=chainsync local stack CA");
        Instant now = Instant.now();
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, serial(random),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), caName, caKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKeys.getPublic()));
        X509Certificate caCert = sign(ca, caKeys.getPrivate());

        KeyPair serverKeys = ecKeyPair(random);
        GeneralNames names = new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.iPAddress, KafkaBroker.HOST),
            new GeneralName(GeneralName.dNSName, "localhost")});
        X509v3CertificateBuilder server = new JcaX509v3CertificateBuilder(caCert, serial(random),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)),
                new X500Name("CN=" + KafkaBroker.HOST), serverKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                .addExtension(Extension.subjectAlternativeName, false, names)
                .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert))
                .addExtension(Extension.subjectKeyIdentifier, false,
                        ext.createSubjectKeyIdentifier(serverKeys.getPublic()));
        X509Certificate serverCert = sign(server, caKeys.getPrivate());
        serverCert.verify(caCert.getPublicKey());

        char[] pw = storePassword.toCharArray();
        KeyStore keystore = KeyStore.getInstance(STORE_TYPE);
        keystore.load(null, pw);
        keystore.setKeyEntry(SERVER_ALIAS, serverKeys.getPrivate(), pw, new Certificate[] {serverCert, caCert});
        store(keystore, tmp.resolve("server.p12"), pw);
        KeyStore truststore = KeyStore.getInstance(STORE_TYPE);
        truststore.load(null, pw);
        truststore.setCertificateEntry("ca", caCert);
        store(truststore, tmp.resolve("truststore.p12"), pw);
        Files.writeString(tmp.resolve("ca.pem"), pem(caCert), StandardCharsets.US_ASCII);

        Properties secrets = new Properties();
        secrets.setProperty("store.password", storePassword);
        secrets.setProperty("client.user", CLIENT_USER);
        secrets.setProperty("client.password", password(random));
        secrets.setProperty("broker.user", BROKER_USER);
        secrets.setProperty("broker.password", password(random));
        writePrivate(tmp.resolve(SECRETS), secrets, "SCRAM users of the chainsync secure stack (" + SCRAM_MECHANISM + ")");
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Writes a properties file readable by its owner only (it holds passwords). */
    static void writePrivate(Path file, Properties p, String comment) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, comment);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static KeyPair ecKeyPair(SecureRandom random) throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), random);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(key);
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(64, random).setBit(63);
    }

    private static String password(SecureRandom random) {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static String pem(X509Certificate cert) throws GeneralSecurityException {
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    private static void store(KeyStore ks, Path file, char[] password) throws IOException, GeneralSecurityException {
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, password);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
