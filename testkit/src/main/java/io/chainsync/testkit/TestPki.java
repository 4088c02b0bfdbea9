package io.chainsync.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.security.SecureRandom;

/**
 * Test certificates and keys made with GnuTLS's {@code certtool} (package gnutls-bin), laid out as qemu's
 * {@code tls-creds-x509} (server side) and libnbd's {@code tls-certificates=DIR} (client side) expect
 * them. Valid for two days; never used outside a test's temporary directory. With {@link #qemuX509} and
 * {@link #qemuPsk}, the options that make qemu-nbd serve TLS only with such a directory.
 */
public final class TestPki {

    /** A CA: its directory holds ca-cert.pem and ca-key.pem. */
    public record Ca(Path dir) {
        public Path cert() {
            return dir.resolve("ca-cert.pem");
        }

        public Path key() {
            return dir.resolve("ca-key.pem");
        }
    }

    private TestPki() {
    }

    public static Ca ca(Path dir, String name) throws IOException {
        Files.createDirectories(dir);
        Ca ca = new Ca(dir);
        privateKey(ca.key(), "ecdsa");
        Path template = template(dir, "ca.info", "cn = " + name, "ca", "cert_signing_key", "crl_signing_key",
                "expiration_days = 2");
        certtool("--generate-self-signed", "--load-privkey", ca.key().toString(), "--template", template.toString(),
                "--outfile", ca.cert().toString());
        return ca;
    }

    /**
     * A qemu {@code tls-creds-x509,endpoint=server} directory: ca-cert.pem, server-cert.pem (naming
     * {@code dnsNames} and {@code ipAddresses} as subjectAltNames), server-key.pem.
     */
    public static Path serverDir(Path dir, Ca ca, List<String> dnsNames, List<String> ipAddresses) throws IOException {
        Files.createDirectories(dir);
        Files.copy(ca.cert(), dir.resolve("ca-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        List<String> lines = new ArrayList<>(List.of("organization = chainsync test",
                "cn = " + (dnsNames.isEmpty() ? ipAddresses.get(0) : dnsNames.get(0)), "tls_www_server",
                "encryption_key", "signing_key", "expiration_days = 2"));
        dnsNames.forEach(name -> lines.add("dns_name = " + name));
        ipAddresses.forEach(ip -> lines.add("ip_address = " + ip));
        sign(dir, ca, "server", "ecdsa", lines);
        return dir;
    }

    /**
     * A libnbd {@code tls-certificates} directory: ca-cert.pem of {@code trusted}, and with
     * {@code clientCa} a client certificate signed by it (client-cert.pem, client-key.pem of
     * {@code keyType}: "rsa" gives a PKCS#1 {@code RSA PRIVATE KEY}, "ecdsa" a SEC1
     * {@code EC PRIVATE KEY}).
     */
    public static Path clientDir(Path dir, Ca trusted, Ca clientCa, String keyType) throws IOException {
        Files.createDirectories(dir);
        Files.copy(trusted.cert(), dir.resolve("ca-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        if (clientCa != null) {
            sign(dir, clientCa, "client", keyType, List.of("organization = chainsync test", "cn = chainsync-client",
                    "tls_www_client", "encryption_key", "signing_key", "expiration_days = 2"));
        }
        return dir;
    }

    /** A CRL of {@code ca} revoking {@code certificate}, written to {@code out}. */
    public static void revoke(Ca ca, Path certificate, Path out) throws IOException {
        Path template = template(ca.dir(), "crl.info", "crl_next_update = 2", "crl_number = 1");
        certtool("--generate-crl", "--load-ca-privkey", ca.key().toString(), "--load-ca-certificate",
                ca.cert().toString(), "--load-certificate", certificate.toString(), "--template",
                template.toString(), "--outfile", out.toString());
    }

    /** A qemu {@code tls-creds-psk,endpoint=server} directory: keys.psk with {@code user:hexkey}. */
    public static Path pskDir(Path dir, String user, byte[] key) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("keys.psk"), user + ":" + HexFormat.of().formatHex(key) + "\n");
        return dir;
    }

    public static byte[] randomKey() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        return key;
    }

    private static void sign(Path dir, Ca ca, String name, String keyType, List<String> templateLines)
            throws IOException {
        Path key = dir.resolve(name + "-key.pem");
        privateKey(key, keyType);
        Path template = template(dir, name + ".info", templateLines.toArray(String[]::new));
        certtool("--generate-certificate", "--load-privkey", key.toString(), "--load-ca-certificate",
                ca.cert().toString(), "--load-ca-privkey", ca.key().toString(), "--template", template.toString(),
                "--outfile", dir.resolve(name + "-cert.pem").toString());
    }

    public static void privateKey(Path out, String keyType) {
        List<String> command = new ArrayList<>(List.of("--generate-privkey", "--key-type=" + keyType));
        if (keyType.equals("rsa")) {
            command.add("--bits=2048");
        }
        command.addAll(List.of("--outfile", out.toString()));
        certtool(command.toArray(String[]::new));
    }

    private static Path template(Path dir, String name, String... lines) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, List.of(lines));
        return file;
    }

    public static void certtool(String... args) {
        List<String> command = new ArrayList<>(List.of("certtool"));
        command.addAll(List.of(args));
        Exec.run(command).expectSuccess();
    }

    /**
     * qemu-nbd's options for X.509 server credentials from {@code serverDir} ({@link #serverDir});
     * {@code verify-peer} (client certificates required) is qemu's default.
     */
    public static String[] qemuX509(Path serverDir, boolean verifyPeer) {
        return new String[] {"--object", "tls-creds-x509,id=tls0,dir=" + serverDir + ",endpoint=server"
                + (verifyPeer ? "" : ",verify-peer=off"), "--tls-creds", "tls0"};
    }

    /** qemu-nbd's options for PSK server credentials from {@code pskDir} ({@link #pskDir}). */
    public static String[] qemuPsk(Path pskDir) {
        return new String[] {"--object", "tls-creds-psk,id=tls0,dir=" + pskDir + ",endpoint=server",
                "--tls-creds", "tls0"};
    }
}
