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

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "nbds://host/export|TLS not supported yet",
        "nbds+unix:///e?socket=/s|TLS not supported yet",
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
