package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Scenarios;
import io.chainsync.testkit.TlsSources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code chainsync copy} of the seed chain from qemu-nbd servers that require TLS: X.509 over TCP
 * ({@code nbds://}) and PSK over a Unix socket ({@code nbds+unix://}) give exact layers; a wrong CA,
 * a wrong key and a server without TLS each give one error line and exit 1, and nothing is
 * copied in plaintext.
 */
@Timeout(120)
class CopyTlsIT {

    @TempDir
    static Path shared;
    private static TlsSources tls;
    private static Chain chain;

    @TempDir
    Path tmp;

    @BeforeAll
    static void pki() {
        tls = TlsSources.create(shared.resolve("tls"));
        chain = Scenarios.SEED_QCOW2.build(shared.resolve("src"));
    }

    @AfterEach
    void stopServers() {
        tls.close();
    }

    @AfterAll
    static void stop() {
        tls.close();
    }

    private CopyCommandIT.Result copy(Path dest, List<String> layers) {
        List<String> args = new ArrayList<>(List.of("copy", "--dest", dest.toString()));
        args.addAll(layers);
        return CopyCommandIT.run(args.toArray(String[]::new));
    }

    /** The base over {@code nbds://localhost:PORT/} with X.509, the top over {@code nbds+unix://} with PSK. */
    @Test
    void x509OverTcpAndPskOverAUnixSocketAreExact() {
        Path dest = tmp.resolve("dest");
        List<String> layers = new ArrayList<>(tls.x509Tcp(chain.bottom(), tls.clientCertificates()));
        layers.addAll(tls.pskUnix(chain.top(), tls.pskFile()));
        assertTrue(layers.get(1).contains("=nbds://") && layers.get(3).contains("=nbds+unix://"), layers.toString());
        CopyCommandIT.Result r = copy(dest, layers);
        assertEquals(0, r.code(), r.err());
        ChainJudge.assertExact(chain, dest);
    }

    @Test
    void aWrongCaIsOneClearError() {
        assertFailsWithOneLine(tls.x509Tcp(chain, tls.wrongCaCertificates()), "not signed by a CA of");
    }

    @Test
    void aWrongPreSharedKeyIsOneClearError() {
        assertFailsWithOneLine(tls.pskUnix(chain, tls.wrongPskFile()), "TLS-PSK handshake with");
    }

    @Test
    void aServerWithoutTlsIsOneClearErrorAndNoPlaintextFallback() {
        assertFailsWithOneLine(tls.plaintextServers(chain), "never falls back to plaintext");
    }

    private void assertFailsWithOneLine(List<String> layers, String reason) {
        Path dest = tmp.resolve("dest");
        CopyCommandIT.Result r = copy(dest, layers);
        assertEquals(Main.EXIT_FAILED, r.code(), r.err());
        assertTrue(r.err().startsWith("chainsync: layer " + chain.bottom().name() + ": "), r.err());
        assertTrue(r.err().contains(reason), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        assertFalse(Files.exists(dest.resolve(chain.bottom().name())), "nothing copied");
    }
}
