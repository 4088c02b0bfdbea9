package io.chainsync.nbd;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * The TLS settings of an {@code nbds://} or {@code nbds+unix://} URI, spelt as libnbd spells them
 * ({@code nbd_connect_uri(3)}):
 *
 * <ul>
 *   <li>{@code tls-certificates=DIR}: X.509. {@code DIR/ca-cert.pem} (required) holds the CA certificates
 *       the server's certificate must chain to; {@code DIR/client-cert.pem} + {@code DIR/client-key.pem}
 *       (optional, both or neither) authenticate the client; {@code DIR/ca-crl.pem} (optional) is a
 *       revocation list checked against the server's chain.</li>
 *   <li>{@code tls-psk-file=FILE}: a pre-shared key. {@code FILE} holds lines {@code username:hexkey}
 *       (GnuTLS {@code psktool} format); the user name is the URI's user info
 *       ({@code nbds://alice@host/}), else, as libnbd, {@code $LOGNAME}, else the local user name.</li>
 *   <li>neither: as libnbd, the first of {@code $HOME/.pki/libnbd} and {@code $HOME/.config/pki/libnbd}
 *       (for root: {@code /etc/pki/libnbd}) that holds a {@code ca-cert.pem}; else the JDK's default
 *       trust store (the system CAs).</li>
 * </ul>
 *
 * <p>Both parameters at once are refused (libnbd would silently prefer the PSK file).
 */
public final class NbdTls {

    private final Path certificates;
    private final Path pskFile;
    private final String username;

    private NbdTls(Path certificates, Path pskFile, String username) {
        if (certificates != null && pskFile != null) {
            throw new IllegalArgumentException("give tls-certificates or tls-psk-file, not both");
        }
        this.certificates = certificates;
        this.pskFile = pskFile;
        this.username = username;
    }

    /** {@code tls-certificates=DIR}. */
    public static NbdTls certificates(Path dir) {
        return new NbdTls(Objects.requireNonNull(dir, "dir"), null, null);
    }

    /**
     * {@code tls-psk-file=FILE} with {@code username@}.
     *
     * @param username the PSK identity, or {@code null} for the default (see {@link #pskUsername()})
     */
    public static NbdTls psk(Path file, String username) {
        if (username != null && username.isEmpty()) {
            throw new IllegalArgumentException("empty TLS user name");
        }
        return new NbdTls(null, Objects.requireNonNull(file, "file"), username);
    }

    /** Neither parameter: libnbd's default certificate directories, else the system CAs. */
    public static NbdTls defaults() {
        return new NbdTls(null, null, null);
    }

    static NbdTls of(Path certificates, Path pskFile, String username) {
        return new NbdTls(certificates, pskFile, username);
    }

    /** {@code tls-certificates=DIR}, if given. */
    public Optional<Path> certificates() {
        return Optional.ofNullable(certificates);
    }

    /** {@code tls-psk-file=FILE}, if given. */
    public Optional<Path> pskFile() {
        return Optional.ofNullable(pskFile);
    }

    /** The user name of the URI ({@code nbds://NAME@host/}), if given. */
    public Optional<String> username() {
        return Optional.ofNullable(username);
    }

    /** Whether this is TLS-PSK rather than X.509. */
    public boolean isPsk() {
        return pskFile != null;
    }

    /**
     * The PSK identity: the URI's user name, else (as libnbd) {@code $LOGNAME}, else the JVM's
     * {@code user.name}.
     */
    public String pskUsername() {
        if (username != null) {
            return username;
        }
        String logname = System.getenv("LOGNAME");
        if (logname != null && !logname.isEmpty()) {
            return logname;
        }
        return System.getProperty("user.name");
    }

    /**
     * The certificate directory to use: {@code tls-certificates=DIR}, else the first of libnbd's default
     * directories holding a {@code ca-cert.pem}; empty means the JDK's default trust store.
     */
    Optional<Path> certificateDirectory() {
        if (certificates != null) {
            return Optional.of(certificates);
        }
        String home = System.getenv("HOME");
        boolean root = isRoot();
        if (!root && home != null) {
            for (Path dir : new Path[] {Path.of(home, ".pki", "libnbd"), Path.of(home, ".config", "pki", "libnbd")}) {
                if (Files.isRegularFile(dir.resolve("ca-cert.pem"))) {
                    return Optional.of(dir);
                }
            }
        } else if (root) {
            Path dir = Path.of("/etc/pki/libnbd");
            if (Files.isRegularFile(dir.resolve("ca-cert.pem"))) {
                return Optional.of(dir);
            }
        }
        return Optional.empty();
    }

    private static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (Exception e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NbdTls other && Objects.equals(certificates, other.certificates)
                && Objects.equals(pskFile, other.pskFile) && Objects.equals(username, other.username);
    }

    @Override
    public int hashCode() {
        return Objects.hash(certificates, pskFile, username);
    }

    @Override
    public String toString() {
        return certificates != null ? "tls-certificates=" + certificates
                : pskFile != null ? "tls-psk-file=" + pskFile + " (user " + pskUsername() + ")"
                : "tls (default certificates)";
    }
}
