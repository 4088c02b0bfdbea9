package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Captured;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.DirContents;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.PlantedChain;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code chainsync copy} as a user runs it: arguments in, exit code and one error line out. */
class CopyCommandIT {

    @TempDir
    Path tmp;

    @Test
    void seedChainIsReconstructed() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            List<String> args = new ArrayList<>(List.of("copy", "--dest", tmp.resolve("dest").toString()));
            args.addAll(served.layerArgs());
            Result r = run(args.toArray(String[]::new));
            assertEquals(0, r.code, r.err);
        }
        ChainJudge.assertExact(chain, tmp.resolve("dest"));
    }

    @Test
    void badArgumentsAreAUsageError() {
        Result r = run("copy", "--dest", tmp.toString(), "--layer", "top.qcow2");
        assertEquals(Main.EXIT_USAGE, r.code);
        assertTrue(r.err.contains("NAME=NBD_URI"), r.err);
        r = run("copy", "--dest", tmp.toString(), "--layer", "x=ftp://host/");
        assertEquals(Main.EXIT_USAGE, r.code);
        r = run("copy", "--dest", tmp.toString(), "--layer", "a.qcow2=nbd://h/a", "--cluster-size", "1000");
        assertEquals(Main.EXIT_USAGE, r.code);
        assertTrue(r.err.contains("cluster size"), r.err);
    }

    @Test
    void unreachableServerIsOneLineNamingTheLayer() {
        Result r = run("copy", "--dest", tmp.resolve("d").toString(),
                "--layer", "base.qcow2=nbd+unix:///?socket=" + tmp.resolve("nothing.sock"));
        assertEquals(Main.EXIT_FAILED, r.code);
        assertTrue(r.err.startsWith("chainsync: layer base.qcow2: "), r.err);
        assertEquals(1, r.err.strip().lines().count(), r.err);
    }

    /** A layer name taken by a file of no chain of this copy: refused before base.qcow2 is even written. */
    @Test
    void anExistingLayerIsRefusedBeforeAnythingIsCopied() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        ChainBuilder.in(dest).base("top.qcow2").pattern("WXYZ").build();
        Map<String, String> before = DirContents.of(dest);
        Result r = copy(chain, dest);
        assertEquals(Main.EXIT_FAILED, r.code, r.err);
        assertTrue(r.err.startsWith("chainsync: layer top.qcow2: already exists in "), r.err);
        assertTrue(r.err.contains("use --replace"), r.err);
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertEquals(before, DirContents.of(dest), "nothing written, nothing changed, no temporary files");
    }

    /** An older chain base ← top in the destination: refused, then replaced as a whole with --replace. */
    @Test
    void replaceReplacesAnOlderChainExactly() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        PlantedChain.plant(dest, tmp.resolve("twin"), "base.qcow2", "top.qcow2");
        Map<String, String> before = DirContents.of(dest);
        Result refused = copy(chain, dest);
        assertEquals(Main.EXIT_FAILED, refused.code, refused.err);
        assertTrue(refused.err.startsWith("chainsync: layer base.qcow2: already exists"), refused.err);
        assertEquals(before, DirContents.of(dest));

        Result r = copy(chain, dest, "--replace");
        assertEquals(0, r.code, r.err);
        ChainJudge.assertExact(chain, dest);
        assertEquals(java.util.Set.of("base.qcow2", "top.qcow2"), DirContents.of(dest).keySet());
    }

    /** base.qcow2 is the backing file of other.qcow2, a chain this copy does not replace: never replaced. */
    @Test
    void aBackingFileOfAnotherChainIsNeverReplaced() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        PlantedChain other = PlantedChain.plant(dest, tmp.resolve("twin"), "base.qcow2", "other.qcow2");
        Map<String, String> before = DirContents.of(dest);
        Result r = copy(chain, dest, "--replace");
        assertEquals(Main.EXIT_FAILED, r.code, r.err);
        assertTrue(r.err.startsWith("chainsync: layer base.qcow2: the existing file is the backing file of other.qcow2"),
                r.err);
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertEquals(before, DirContents.of(dest));
        other.assertIntact();
    }

    /** {@code chainsync copy} of {@code chain}, each layer served alone by qemu-nbd. */
    private Result copy(Chain chain, Path dest, String... options) {
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            List<String> args = new ArrayList<>(List.of("copy", "--dest", dest.toString()));
            args.addAll(List.of(options));
            args.addAll(served.layerArgs());
            return run(args.toArray(String[]::new));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        Captured c = Captured.run(() -> Main.run(args));
        return new Result(c.code(), c.out(), c.err());
    }
}
