package io.chainsync.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class NbdUriTest {

    @Test
    void tcpWithDefaults() {
        NbdUri uri = NbdUri.parse("nbd://example.org/");
        assertEquals(Optional.of("example.org"), uri.host());
        assertEquals(10809, uri.port());
        assertEquals("", uri.exportName());
        assertEquals("nbd://example.org/", uri.toString());
        assertEquals("", NbdUri.parse("nbd://h").exportName());
    }

    @Test
    void tcpWithPortAndEscapedExport() {
        NbdUri uri = NbdUri.parse("nbd://10.0.0.1:1234/disk%20a+b");
        assertEquals(1234, uri.port());
        assertEquals("disk a+b", uri.exportName());
        assertEquals("::1", NbdUri.parse("nbd://[::1]:5/x").host().orElseThrow());
    }

    @Test
    void unixSocket() {
        NbdUri uri = NbdUri.parse("nbd+unix:///top?socket=/run/q%20n.sock");
        assertTrue(uri.isUnix());
        assertEquals(Optional.of(Path.of("/run/q n.sock")), uri.socket());
        assertEquals("top", uri.exportName());
        assertEquals("nbd+unix:///top?socket=/run/q%20n.sock", uri.toString());
        NbdUri built = NbdUri.unix(Path.of("/tmp/a b.sock"), "ex port");
        assertEquals(NbdUri.parse(built.toString()), built);
        assertEquals("ex port", built.exportName());
        assertEquals(Path.of("/tmp/a b.sock"), built.socket().orElseThrow());
    }

    @Test
    void tlsOverTcp() {
        NbdUri uri = NbdUri.parse("nbds://example.org:10900/disk?tls-certificates=/etc/pki/nbd%20x");
        assertTrue(uri.isTls());
        assertEquals(Optional.of("example.org"), uri.host());
        assertEquals(10900, uri.port());
        assertEquals("disk", uri.exportName());
        NbdTls tls = uri.tls().orElseThrow();
        assertEquals(Optional.of(Path.of("/etc/pki/nbd x")), tls.certificates());
        assertTrue(tls.pskFile().isEmpty());
        assertEquals("nbds://example.org:10900/disk?tls-certificates=/etc/pki/nbd%20x", uri.toString());
        assertEquals(uri, NbdUri.parse(uri.toString()));

        NbdUri defaults = NbdUri.parse("nbds://[::1]/");
        assertEquals("::1", defaults.host().orElseThrow());
        assertEquals(NbdUri.DEFAULT_PORT, defaults.port());
        assertEquals(NbdTls.defaults(), defaults.tls().orElseThrow());
        assertTrue(NbdUri.parse("nbd://h/").tls().isEmpty());
        assertTrue(!NbdUri.parse("nbd://h/").isTls());
    }

    @Test
    void tlsPskWithUserFromUserInfo() {
        NbdUri tcp = NbdUri.parse("nbds://alice@host/e?tls-psk-file=/keys.psk");
        NbdTls tls = tcp.tls().orElseThrow();
        assertTrue(tls.isPsk());
        assertEquals(Optional.of("alice"), tls.username());
        assertEquals("alice", tls.pskUsername());
        assertEquals(Optional.of(Path.of("/keys.psk")), tls.pskFile());

        // libnbd's own example: nbds+unix://alice@/?socket=/tmp/nbd.sock&tls-certificates=certs
        NbdUri unix = NbdUri.parse("nbds+unix://alice@/?socket=/tmp/nbd.sock&tls-certificates=certs");
        assertTrue(unix.isUnix() && unix.isTls());
        assertEquals(Optional.of(Path.of("/tmp/nbd.sock")), unix.socket());
        assertEquals(Optional.of("alice"), unix.tls().orElseThrow().username());
        assertEquals(Optional.of(Path.of("certs")), unix.tls().orElseThrow().certificates());
        assertEquals("", unix.exportName());

        // or as qemu's PSK credentials name it: tls-username=NAME (the same name twice is fine)
        NbdTls named = NbdUri.parse("nbds+unix:///?socket=/s&tls-psk-file=/k&tls-username=bob").tls().orElseThrow();
        assertEquals("bob", named.pskUsername());
        assertEquals("bob", NbdUri.parse("nbds://bob@host/e?tls-psk-file=/k&tls-username=bob").tls().orElseThrow()
                .pskUsername());

        // without a user name: libnbd's default, $LOGNAME, else the local user
        NbdTls anonymous = NbdUri.parse("nbds+unix:///?socket=/s&tls-psk-file=/k").tls().orElseThrow();
        String logname = System.getenv("LOGNAME");
        assertEquals(logname != null && !logname.isEmpty() ? logname : System.getProperty("user.name"),
                anonymous.pskUsername());
    }

    @Test
    void withTlsBuildsUrisThatRoundTrip() {
        NbdUri tcp = NbdUri.tcp("10.0.0.1", 1234, "a b").withTls(NbdTls.certificates(Path.of("/pki/c&d")));
        assertEquals("nbds://10.0.0.1:1234/a%20b?tls-certificates=/pki/c%26d", tcp.toString());
        assertEquals(Path.of("/pki/c&d"), tcp.tls().orElseThrow().certificates().orElseThrow());
        NbdUri unix = NbdUri.unix(Path.of("/run/x.sock"), "top").withTls(NbdTls.psk(Path.of("/k.psk"), "bob"));
        assertEquals("nbds+unix://bob@/top?socket=/run/x.sock&tls-psk-file=/k.psk", unix.toString());
        assertEquals(unix, NbdUri.parse(unix.toString()));
        assertEquals("bob", unix.tls().orElseThrow().pskUsername());
        NbdUri v6 = NbdUri.tcp("::1", 5, "").withTls(NbdTls.defaults());
        assertEquals("nbds://[::1]:5/", v6.toString());
        assertEquals(NbdTls.defaults(), v6.tls().orElseThrow());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "nbds://host/export?tls-certificates=/a&tls-psk-file=/b|not both",
        "nbds://alice@host/export?tls-username=bob&tls-psk-file=/k|two user names",
        "nbds://host/export?tls-username=&tls-psk-file=/k|needs a name",
        "nbds://host/export?tls-certificates=|needs a path",
        "nbds://host/export?tls-certificates=/a&tls-certificates=/b|given twice",
        "nbds://host/export?socket=/s|nbds+unix",
        "nbds://host/export?tls-verify-peer=false|unsupported query parameter",
        "nbds+unix://host/e?socket=/s|no host",
        "nbds+unix:///e|missing socket",
        "nbds+vsock:///e|vsock",
        "nbd://bob@host/e|only used by TLS-PSK",
        "nbd+unix:///e?socket=/s&tls-certificates=/c|unsupported query parameter",
        "nbd://host/e?tls-certificates=/c|query parameters",
        "nbd+unix:///export|missing socket",
        "nbd+unix:///export?socket=|missing socket",
        "nbd+unix://host/e?socket=/s|no host",
        "nbd://host:0/e|port out of range",
        "nbd://host:99999/e|port",
        "nbd:///e|missing host",
        "http://host/e|unsupported scheme",
        "host/e|missing scheme",
        "nbd://host/e?socket=/s|query parameters",
        "nbd+unix:///e?socket=/s&tls=on|unsupported query parameter",
        "nbd://host/%zz|escape",
    })
    void invalid(String text, String reason) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NbdUri.parse(text));
        assertTrue(e.getMessage().contains(text), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void optionsValidation() {
        NbdClient.Options defaults = NbdClient.Options.defaults();
        assertEquals(1, defaults.connections());
        assertThrows(IllegalArgumentException.class, () -> defaults.withConnections(0));
        assertThrows(IllegalArgumentException.class, () -> defaults.withMaxInFlight(0));
        assertThrows(IllegalArgumentException.class, () -> defaults.withMetaContexts("noColon"));
        assertThrows(IllegalArgumentException.class, () -> defaults.withMetaContexts("a:b", "a:b"));
        assertThrows(IllegalArgumentException.class, () -> defaults.withConnectTimeout(java.time.Duration.ZERO));
        assertEquals(java.time.Duration.ofSeconds(60), defaults.requestTimeout());
        assertEquals(java.time.Duration.ofMillis(1500),
                defaults.withRequestTimeout(java.time.Duration.ofMillis(1500)).withConnections(2).requestTimeout());
        assertThrows(IllegalArgumentException.class, () -> defaults.withRequestTimeout(java.time.Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> defaults.withRequestTimeout(null));
        assertEquals(new BlockSize(512, 4096, 65536).maxRequest(), 65536);
        assertEquals(new BlockSize(512, 4096, 0xffff_ffffL).maxRequest(), 32 * 1024 * 1024);
        assertEquals(new BlockSize(4096, 4096, 100_000).maxRequest(), 98304);
    }
}
