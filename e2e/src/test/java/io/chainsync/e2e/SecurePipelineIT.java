package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.cli.Main;
import io.chainsync.jobs.EmbeddedPipeline;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.stack.LocalStack;
import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Captured;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.DirContents;
import io.chainsync.testkit.PlantedChain;
import io.chainsync.testkit.Scenarios;
import io.chainsync.testkit.TlsSources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs submitted with {@code chainsync submit --wait} to the pipeline (scanner, Streams planner,
 * two copiers) on a real broker and registry: layers that already exist in the destination are
 * refused before anything is written, replaced with {@code --replace}, and never when another
 * chain uses them as its backing file; sources that require TLS with the wrong CA, the wrong key,
 * or a server without TLS fail the job with one clear line. (Exact copies over TLS through the
 * pipeline: {@link SyncTlsIT}.)
 */
@Timeout(180)
class SecurePipelineIT {

    @TempDir
    static Path shared;
    private static LocalStack stack;
    private static EmbeddedPipeline pipeline;
    private static Path destRoot;
    private static TlsSources tls;
    private static Chain chain;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        stack = LocalStack.start(shared.resolve("stack"));
        destRoot = Files.createDirectories(shared.resolve("dest-root"));
        pipeline = EmbeddedPipeline.start(new ClientConfig(stack.bootstrapServers(), stack.registryUrl()),
                shared.resolve("planner"), destRoot, 2, 4);
        tls = TlsSources.create(shared.resolve("tls"));
        chain = Scenarios.SEED_QCOW2.build(shared.resolve("src"));
    }

    @AfterEach
    void stopServers() {
        tls.close();
    }

    @AfterAll
    static void stop() {
        if (tls != null) {
            tls.close();
        }
        if (pipeline != null) {
            pipeline.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** {@code chainsync submit --wait} of {@code layers} to {@code dest} (under the copiers' root). */
    private static Captured submit(String dest, List<String> layers, String... options) {
        List<String> args = new ArrayList<>(List.of("submit", "--wait", "--dest", dest, "--bootstrap-servers",
                stack.bootstrapServers(), "--registry-url", stack.registryUrl(), "--chunk-size",
                String.valueOf(2 << 20), "--timeout", "120", "--progress", "never"));
        args.addAll(List.of(options));
        args.addAll(layers);
        return Captured.run(() -> Main.run(args.toArray(String[]::new)));
    }

    /** The chain's layers served alone in plaintext, submitted to {@code dest}. */
    private Captured submitPlain(String dest, String... options) throws Exception {
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            return submit(dest, served.layerArgs(), options);
        }
    }

    @Test
    void aWrongCaFailsTheJobWithOneClearLine() {
        assertFailsWithOneLine("wrong-ca", tls.x509Tcp(chain, tls.wrongCaCertificates()), "not signed by a CA of");
    }

    @Test
    void aWrongPreSharedKeyFailsTheJobWithOneClearLine() {
        assertFailsWithOneLine("wrong-psk", tls.pskUnix(chain, tls.wrongPskFile()), "TLS-PSK handshake with");
    }

    @Test
    void aServerWithoutTlsFailsTheJobWithOneClearLineAndNoPlaintextFallback() {
        assertFailsWithOneLine("no-tls", tls.plaintextServers(chain), "never falls back to plaintext");
    }

    private static void assertFailsWithOneLine(String dest, List<String> layers, String reason) {
        Captured r = submit(dest, layers);
        assertEquals(1, r.code(), r.err());
        assertTrue(r.oneErrorLine(), r.err());
        assertTrue(r.err().startsWith("chainsync: job ") && r.err().contains("failed: layer ")
                && r.err().contains(reason), r.err());
        assertFalse(Files.exists(destRoot.resolve(dest).resolve(chain.bottom().name())), "nothing copied");
    }

    /**
     * The top layer of an older chain in the destination (its base is gone): the job is refused by
     * the copiers before they write anything, not even the base layer, whose name is free (the
     * first task checks every layer of the job); with {@code --replace} the chain is copied exactly.
     */
    @Test
    void existingLayersAreRefusedThenReplacedWithReplace() throws Exception {
        Path dest = destRoot.resolve("older");
        PlantedChain.plant(dest, tmp.resolve("twin"), "base.qcow2", "top.qcow2");
        Files.delete(dest.resolve("base.qcow2"));
        Map<String, String> before = DirContents.of(dest);
        Captured refused = submitPlain("older");
        assertEquals(1, refused.code(), refused.err());
        assertTrue(refused.oneErrorLine(), refused.err());
        assertTrue(refused.err().contains("already exists in") && refused.err().contains("use --replace"),
                refused.err());
        assertEquals(before, DirContents.of(dest), "nothing written, nothing changed, no temporary files");

        Captured replaced = submitPlain("older", "--replace");
        assertEquals(0, replaced.code(), replaced.err());
        ChainJudge.assertExact(chain, dest);
        Set<String> left = new java.util.TreeSet<>(DirContents.of(dest).keySet());
        left.remove(".chainsync.lock"); // released by the copiers once they see the job ended
        assertEquals(Set.of("base.qcow2", "base.qcow2.manifest.json", "top.qcow2", "top.qcow2.manifest.json"), left);
    }

    /** base.qcow2 is the backing file of other.qcow2, a chain the job does not replace: never replaced. */
    @Test
    void aBackingFileOfAnotherChainIsNeverReplaced() throws Exception {
        Path dest = destRoot.resolve("shared-base");
        PlantedChain other = PlantedChain.plant(dest, tmp.resolve("twin"), "base.qcow2", "other.qcow2");
        Map<String, String> before = DirContents.of(dest);
        Captured r = submitPlain("shared-base", "--replace");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.oneErrorLine(), r.err());
        assertTrue(r.err().contains("layer base.qcow2: the existing file is the backing file of other.qcow2"), r.err());
        assertEquals(before, DirContents.of(dest));
        other.assertIntact();
    }
}
