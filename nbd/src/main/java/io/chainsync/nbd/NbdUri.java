package io.chainsync.nbd;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An NBD URI, as in the NBD URI specification ({@code doc/uri.md}) and as libnbd spells it
 * ({@code nbd_connect_uri(3)}), restricted to what this client supports:
 *
 * <ul>
 *   <li>{@code nbd://host[:port]/export} (TCP; default port 10809; the export may be empty)</li>
 *   <li>{@code nbd+unix:///export?socket=PATH} (Unix domain socket)</li>
 *   <li>{@code nbds://[user@]host[:port]/export[?TLS]} and
 *       {@code nbds+unix://[user@]/export?socket=PATH[&TLS]}: the same with TLS required, where
 *       {@code TLS} is {@code tls-certificates=DIR} or {@code tls-psk-file=FILE} (see {@link NbdTls};
 *       the user name is the PSK identity, given as the URI's user info as libnbd takes it, or as
 *       {@code tls-username=NAME} as qemu's PSK credentials name it)</li>
 * </ul>
 *
 * <p>A TLS URI never falls back to plaintext. Other transports (vsock) and unknown query parameters are
 * refused with a clear {@link IllegalArgumentException}. {@link #toString()} gives back the URI text.
 */
public final class NbdUri {

    /** The IANA-assigned NBD port. */
    public static final int DEFAULT_PORT = 10809;

    private final String text;
    private final String host;
    private final int port;
    private final Path socket;
    private final String exportName;
    private final NbdTls tls;

    private NbdUri(String text, String host, int port, Path socket, String exportName, NbdTls tls) {
        this.text = text;
        this.host = host;
        this.port = port;
        this.socket = socket;
        this.exportName = exportName;
        this.tls = tls;
    }

    /**
     * Parses an NBD URI.
     *
     * @throws IllegalArgumentException naming the URI and what is wrong with it
     */
    public static NbdUri parse(String text) {
        Objects.requireNonNull(text, "uri");
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw invalid(text, e.getMessage());
        }
        String scheme = uri.getScheme();
        if (scheme == null) {
            throw invalid(text, "missing scheme (expected nbd://, nbd+unix://, nbds:// or nbds+unix://)");
        }
        if (uri.isOpaque()) {
            throw invalid(text, "expected nbd://host[:port]/export or nbd+unix:///export?socket=PATH");
        }
        if (uri.getFragment() != null) {
            throw invalid(text, "fragments are not allowed");
        }
        String exportName = exportName(text, uri);
        String lower = scheme.toLowerCase(java.util.Locale.ROOT);
        boolean secure = lower.startsWith("nbds");
        switch (lower) {
            case "nbd":
            case "nbd+tcp":
            case "nbds":
            case "nbds+tcp": {
                String host = uri.getHost();
                if (host == null || host.isEmpty()) {
                    throw invalid(text, uri.getRawAuthority() == null || uri.getRawAuthority().isEmpty()
                            ? "missing host" : "bad host or port '" + uri.getRawAuthority() + "'");
                }
                String user = userInfo(text, uri.getRawUserInfo(), secure);
                Map<String, String> query = query(text, uri.getRawQuery());
                if (!secure && !query.isEmpty()) {
                    throw invalid(text, "query parameters are not supported for TCP ('" + uri.getRawQuery() + "')");
                }
                if (query.containsKey("socket")) {
                    throw invalid(text, "socket= is for nbds+unix:// URIs, not TCP");
                }
                int port = uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort();
                if (port < 1 || port > 65535) {
                    throw invalid(text, "port out of range: " + port);
                }
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                return new NbdUri(text, host, port, null, exportName, secure ? tls(text, query, user) : null);
            }
            case "nbd+unix":
            case "nbds+unix": {
                String authority = uri.getRawAuthority();
                String user = null;
                if (authority != null && !authority.isEmpty()) {
                    if (!secure || !authority.endsWith("@") || authority.indexOf('@') != authority.length() - 1) {
                        throw invalid(text, scheme + " URIs take no host or port (use " + scheme
                                + ":///export?socket=PATH)");
                    }
                    user = userInfo(text, authority.substring(0, authority.length() - 1), true);
                }
                Map<String, String> query = query(text, uri.getRawQuery());
                String socket = query.remove("socket");
                if (!secure && !query.isEmpty()) {
                    throw invalid(text, "unsupported query parameter '" + query.keySet().iterator().next() + "'");
                }
                if (socket == null || socket.isEmpty()) {
                    throw invalid(text, "missing socket=PATH query parameter");
                }
                return new NbdUri(text, null, -1, Path.of(socket), exportName, secure ? tls(text, query, user) : null);
            }
            case "nbds+vsock":
            case "nbd+vsock":
                throw invalid(text, "vsock transport is not supported");
            default:
                throw invalid(text, "unsupported scheme '" + scheme + "' (expected nbd, nbd+unix, nbds or nbds+unix)");
        }
    }

    private static String userInfo(String text, String raw, boolean secure) {
        if (raw == null) {
            return null;
        }
        if (!secure) {
            throw invalid(text, "user info is only used by TLS-PSK (nbds://NAME@host/...)");
        }
        String user = decode(text, raw);
        if (user.isEmpty()) {
            throw invalid(text, "empty user name before '@'");
        }
        return user;
    }

    /** Query parameters in order; a parameter given twice is refused. */
    private static Map<String, String> query(String text, String rawQuery) {
        Map<String, String> parameters = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return parameters;
        }
        for (String parameter : rawQuery.split("&")) {
            int eq = parameter.indexOf('=');
            String key = eq < 0 ? parameter : parameter.substring(0, eq);
            String value = eq < 0 ? "" : decode(text, parameter.substring(eq + 1));
            if (parameters.put(key, value) != null) {
                throw invalid(text, key + " given twice");
            }
        }
        return parameters;
    }

    private static NbdTls tls(String text, Map<String, String> query, String user) {
        Path certificates = null;
        Path pskFile = null;
        String username = user;
        for (Map.Entry<String, String> parameter : query.entrySet()) {
            String value = parameter.getValue();
            switch (parameter.getKey()) {
                case "tls-certificates" -> certificates = path(text, parameter.getKey(), value);
                case "tls-psk-file" -> pskFile = path(text, parameter.getKey(), value);
                case "tls-username" -> {
                    if (value.isEmpty()) {
                        throw invalid(text, "tls-username= needs a name");
                    }
                    if (user != null && !user.equals(value)) {
                        throw invalid(text, "two user names: '" + user + "@' and tls-username=" + value);
                    }
                    username = value;
                }
                default -> throw invalid(text, "unsupported query parameter '" + parameter.getKey()
                        + "' (expected tls-certificates=DIR, tls-psk-file=FILE, tls-username=NAME)");
            }
        }
        if (certificates != null && pskFile != null) {
            throw invalid(text, "give tls-certificates or tls-psk-file, not both");
        }
        return NbdTls.of(certificates, pskFile, username);
    }

    private static Path path(String text, String key, String value) {
        if (value.isEmpty()) {
            throw invalid(text, key + "= needs a path");
        }
        return Path.of(value);
    }

    private static String exportName(String text, URI uri) {
        String rawPath = uri.getRawPath();
        if (rawPath == null || rawPath.isEmpty()) {
            return "";
        }
        if (!rawPath.startsWith("/")) {
            throw invalid(text, "path must start with '/'");
        }
        return decode(text, rawPath.substring(1));
    }

    private static String decode(String text, String raw) {
        try {
            // Percent-decoding only: '+' stays a plus sign, unlike URLDecoder.
            return percentDecode(raw);
        } catch (IllegalArgumentException e) {
            throw invalid(text, "bad percent-encoding in '" + raw + "'");
        }
    }

    private static String percentDecode(String raw) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) {
                    throw new IllegalArgumentException("truncated escape");
                }
                int value = Integer.parseInt(raw.substring(i + 1, i + 3), 16);
                bytes.write(value);
                i += 2;
            } else {
                byte[] encoded = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                bytes.write(encoded, 0, encoded.length);
            }
        }
        return bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static IllegalArgumentException invalid(String text, String reason) {
        return new IllegalArgumentException("invalid NBD URI '" + text + "': " + reason);
    }

    /** {@code nbd://host:port/export}. */
    public static NbdUri tcp(String host, int port, String exportName) {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return parse("nbd://" + h + ":" + port + "/" + encodePath(exportName));
    }

    /** {@code nbd+unix:///export?socket=PATH}. */
    public static NbdUri unix(Path socket, String exportName) {
        return parse("nbd+unix:///" + encodePath(exportName) + "?socket=" + encodeQuery(socket.toString()));
    }

    private static String encodePath(String s) {
        return encode(s, "/-._~!$&'()*+,;=:@");
    }

    private static String encodeQuery(String s) {
        return encode(s, "/-._~!$'()*+,;:@?");
    }

    private static String encode(String s, String safe) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || (c < 0x80 && safe.indexOf(c) >= 0)) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /**
     * The same endpoint and export with TLS required: {@code nbds://[user@]host:port/export?...} or
     * {@code nbds+unix://[user@]/export?socket=PATH&...}.
     */
    public NbdUri withTls(NbdTls settings) {
        Objects.requireNonNull(settings, "settings");
        StringBuilder out = new StringBuilder(socket != null ? "nbds+unix://" : "nbds://");
        settings.username().ifPresent(user -> out.append(encode(user, "-._~!$&'()*+,;=")).append('@'));
        if (socket == null) {
            out.append(host.contains(":") ? "[" + host + "]" : host).append(':').append(port);
        }
        out.append('/').append(encodePath(exportName));
        StringBuilder query = new StringBuilder();
        if (socket != null) {
            query.append("socket=").append(encodeQuery(socket.toString()));
        }
        settings.certificates().ifPresent(dir -> query.append(query.length() > 0 ? "&" : "")
                .append("tls-certificates=").append(encodeQuery(dir.toString())));
        settings.pskFile().ifPresent(file -> query.append(query.length() > 0 ? "&" : "")
                .append("tls-psk-file=").append(encodeQuery(file.toString())));
        if (query.length() > 0) {
            out.append('?').append(query);
        }
        return parse(out.toString());
    }

    public boolean isUnix() {
        return socket != null;
    }

    /** Whether the URI requires TLS ({@code nbds://}, {@code nbds+unix://}). */
    public boolean isTls() {
        return tls != null;
    }

    /** The TLS settings of an {@code nbds} URI; empty for plaintext URIs. */
    public Optional<NbdTls> tls() {
        return Optional.ofNullable(tls);
    }

    /** TCP host, empty for Unix sockets. */
    public Optional<String> host() {
        return Optional.ofNullable(host);
    }

    /** TCP port, -1 for Unix sockets. */
    public int port() {
        return port;
    }

    /** Unix socket path, empty for TCP. */
    public Optional<Path> socket() {
        return Optional.ofNullable(socket);
    }

    /** Export name, possibly empty (the server's default export). */
    public String exportName() {
        return exportName;
    }

    /** The address to connect to (TCP addresses are resolved now). */
    public SocketAddress address() {
        return socket != null ? UnixDomainSocketAddress.of(socket) : new InetSocketAddress(host, port);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NbdUri other && text.equals(other.text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
