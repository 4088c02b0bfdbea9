package io.chainsync.nbd;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * An NBD URI, as in the NBD URI specification ({@code doc/uri.md}), restricted to what this client
 * supports:
 *
 * <ul>
 *   <li>{@code nbd://host[:port]/export} (TCP; default port 10809; the export may be empty)</li>
 *   <li>{@code nbd+unix:///export?socket=PATH} (Unix domain socket)</li>
 * </ul>
 *
 * <p>TLS schemes ({@code nbds}, {@code nbds+unix}) and other transports are refused with a clear
 * {@link IllegalArgumentException}. {@link #toString()} gives back the URI text.
 */
public final class NbdUri {

    /** The IANA-assigned NBD port. */
    public static final int DEFAULT_PORT = 10809;

    private final String text;
    private final String host;
    private final int port;
    private final Path socket;
    private final String exportName;

    private NbdUri(String text, String host, int port, Path socket, String exportName) {
        this.text = text;
        this.host = host;
        this.port = port;
        this.socket = socket;
        this.exportName = exportName;
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
            throw invalid(text, "missing scheme (expected nbd:// or nbd+unix://)");
        }
        if (uri.isOpaque()) {
            throw invalid(text, "expected nbd://host[:port]/export or nbd+unix:///export?socket=PATH");
        }
        if (uri.getFragment() != null) {
            throw invalid(text, "fragments are not allowed");
        }
        if (uri.getRawUserInfo() != null) {
            throw invalid(text, "user info is not supported");
        }
        String exportName = exportName(text, uri);
        switch (scheme.toLowerCase(java.util.Locale.ROOT)) {
            case "nbd":
            case "nbd+tcp": {
                String host = uri.getHost();
                if (host == null || host.isEmpty()) {
                    throw invalid(text, uri.getRawAuthority() == null || uri.getRawAuthority().isEmpty()
                            ? "missing host" : "bad host or port '" + uri.getRawAuthority() + "'");
                }
                if (uri.getRawQuery() != null) {
                    throw invalid(text, "query parameters are not supported for TCP ('" + uri.getRawQuery() + "')");
                }
                int port = uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort();
                if (port < 1 || port > 65535) {
                    throw invalid(text, "port out of range: " + port);
                }
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                return new NbdUri(text, host, port, null, exportName);
            }
            case "nbd+unix": {
                if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()) {
                    throw invalid(text, "nbd+unix URIs take no host or port (use nbd+unix:///export?socket=PATH)");
                }
                String socket = null;
                String query = uri.getRawQuery();
                if (query != null && !query.isEmpty()) {
                    for (String parameter : query.split("&")) {
                        int eq = parameter.indexOf('=');
                        String key = eq < 0 ? parameter : parameter.substring(0, eq);
                        String value = eq < 0 ? "" : decode(text, parameter.substring(eq + 1));
                        if (!key.equals("socket")) {
                            throw invalid(text, "unsupported query parameter '" + key + "'");
                        }
                        if (socket != null) {
                            throw invalid(text, "socket given twice");
                        }
                        socket = value;
                    }
                }
                if (socket == null || socket.isEmpty()) {
                    throw invalid(text, "missing socket=PATH query parameter");
                }
                return new NbdUri(text, null, -1, Path.of(socket), exportName);
            }
            case "nbds":
            case "nbds+unix":
            case "nbds+tcp":
            case "nbds+vsock":
                throw invalid(text, "TLS not supported yet");
            case "nbd+vsock":
                throw invalid(text, "vsock transport is not supported");
            default:
                throw invalid(text, "unsupported scheme '" + scheme + "' (expected nbd or nbd+unix)");
        }
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

    public boolean isUnix() {
        return socket != null;
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
