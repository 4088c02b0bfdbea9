package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.cli.Main;
import io.chainsync.testkit.Captured;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Scenarios;
import io.chainsync.testkit.TlsSources;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code chainsync sync} (its own broker and registry, the whole pipeline in process) of the seed
 * chain from qemu-nbd servers that require TLS: the base over {@code nbds://localhost:PORT/} with
 * X.509 certificates, the top over {@code nbds+unix://} with a pre-shared key. Both the scanner
 * (block status) and the copiers (data) read through TLS; the layers must be exact. The failures
 * through the pipeline are in {@link SecurePipelineIT}.
 */
class SyncTlsIT {

    @TempDir
    Path tmp;

    @Test
    @Timeout(240)
    void syncOverX509AndPskIsExact() {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        try (TlsSources tls = TlsSources.create(tmp.resolve("tls"))) {
            Path dest = tmp.resolve("dest");
            List<String> args = new ArrayList<>(List.of("sync", "--dest", dest.toString(), "--chunk-size",
                    String.valueOf(2 << 20), "--timeout", "180"));
            List<String> base = tls.x509Tcp(chain.bottom(), tls.clientCertificates());
            List<String> top = tls.pskUnix(chain.top(), tls.pskFile());
            assertTrue(base.get(1).contains("=nbds://") && top.get(1).contains("=nbds+unix://"), base + " " + top);
            args.addAll(base);
            args.addAll(top);
            Captured r = Captured.run(() -> Main.run(args.toArray(String[]::new)));
            assertEquals(0, r.code(), r.err());
            ChainJudge.assertExact(chain, dest);
        }
    }
}
