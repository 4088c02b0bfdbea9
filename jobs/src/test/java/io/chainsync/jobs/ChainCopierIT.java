package io.chainsync.jobs;

import io.chainsync.scanner.LayerSpec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.NbdUri;
import io.chainsync.core.Action;
import io.chainsync.core.Decider;
import io.chainsync.core.MetaContexts;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Layer;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenario;
import io.chainsync.testkit.Scenarios;
import io.chainsync.testkit.Verdict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code chainsync copy}'s engine against real qemu-nbd sources, judged by docs/design.md §4. */
class ChainCopierIT {

    /** The 2021 bug: trust HOLE, ignore allocation depth. */
    static final Decider SKIP_HOLES = (mode, base, second) ->
            (base & MetaContexts.STATE_HOLE) != 0 ? Action.SKIP : Action.DATA;

    @TempDir
    Path tmp;

    static Stream<Scenario> scenarios() {
        return Scenarios.all();
    }

    /** Each scenario copied once: judged exact, and {@link LayerVerifier} (docs/design.md §4, "Verification") agrees. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void everyScenarioIsReconstructedExactlyAndVerifies(Scenario scenario) throws Exception {
        Chain chain = scenario.build(tmp.resolve("src"));
        Path dest = tmp.resolve("dest");
        List<LayerVerifier.Outcome> outcomes = ServedCopy.copy(chain, tmp, dest, QemuNbdServer::serveLayer,
                Decider.TABLE, CopyOptions.defaults(), specs -> new LayerVerifier(dest, CopyOptions.defaults())
                        .verify(specs));
        ChainJudge.assertExact(chain, dest);
        assertEquals(chain.layers().size(), outcomes.size(), String.valueOf(outcomes));
        for (LayerVerifier.Outcome o : outcomes) {
            assertTrue(o.verified(), o.line());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void aNaiveCopierIsCaught(Scenario scenario) throws Exception {
        Chain chain = scenario.build(tmp.resolve("src"));
        copy(chain, QemuNbdServer::serveLayer, SKIP_HOLES, CopyOptions.defaults());
        Verdict verdict = ChainJudge.judge(chain, tmp.resolve("dest"));
        if (scenario.trap()) {
            assertFalse(verdict.isExact(), "the judgement must catch a copier that skips holes");
        }
    }

    @Test
    void seedTopLayerNaiveCopyShowsTheBackingThrough() throws Exception {
        Chain chain = Scenarios.SEED_RAW.build(tmp.resolve("src"));
        copy(chain, QemuNbdServer::serveLayer, SKIP_HOLES, CopyOptions.defaults());
        Verdict verdict = ChainJudge.judge(chain, tmp.resolve("dest"));
        assertTrue(verdict.failures().stream().anyMatch(f -> f.layer().equals(chain.top().name())
                && f.check() == Verdict.Check.CHAIN_CONTENT && f.mismatchOffset() == 131072), verdict.toString());
    }

    @Test
    void sourcesServedWithTheirBackingChain() throws Exception {
        Chain chain = Scenarios.FOUR_LAYERS_RAW_BASE.build(tmp.resolve("src"));
        copy(chain, (layer, dir) -> layer.isRaw() ? QemuNbdServer.serveRaw(layer.path(), dir)
                : QemuNbdServer.serveWithBacking(layer.path(), dir), Decider.TABLE, CopyOptions.defaults());
        ChainJudge.assertExact(chain, tmp.resolve("dest"));
    }

    @Test
    void upperLayerWithoutAllocationDepthIsRefused() throws Exception {
        Chain chain = Scenarios.SEED_QCOW2.build(tmp.resolve("src"));
        LayerCopyException e = assertThrows(LayerCopyException.class, () -> copy(chain,
                (layer, dir) -> QemuNbdServer.serveNoDepth(layer.path(), dir), Decider.TABLE, CopyOptions.defaults()));
        assertEquals(chain.top().name(), e.layer());
        assertTrue(e.getMessage().contains("qemu:allocation-depth"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("dest").resolve(chain.top().name())), "no incomplete layer is left");
        assertFalse(Files.exists(tmp.resolve("dest").resolve("." + chain.top().name() + ".partial")));
    }

    @Test
    void forcedClusterSizeThatCannotBeExactIsRefused() throws Exception {
        Chain chain = Scenarios.CLUSTERS_4K.build(tmp.resolve("src"));
        LayerCopyException e = assertThrows(LayerCopyException.class, () -> copy(chain, QemuNbdServer::serveLayer,
                Decider.TABLE, CopyOptions.defaults().withClusterSize(65536)));
        assertTrue(e.getMessage().contains("cannot be exact"), e.getMessage());
    }

    @Test
    void forcedSmallClusterSizeIsExact() throws Exception {
        Chain chain = Scenarios.THREE_LAYERS.build(tmp.resolve("src"));
        copy(chain, QemuNbdServer::serveLayer, Decider.TABLE, CopyOptions.defaults().withClusterSize(512));
        ChainJudge.assertExact(chain, tmp.resolve("dest"));
        assertEquals(512, chain.expectedIn(tmp.resolve("dest")).top().info().clusterSize());
    }

    @Test
    void unreachableSourceNamesTheLayer() {
        List<LayerSpec> specs = List.of(new LayerSpec("base.qcow2",
                NbdUri.parse("nbd+unix:///?socket=" + tmp.resolve("missing.sock"))));
        LayerCopyException e = assertThrows(LayerCopyException.class,
                () -> new ChainCopier(tmp.resolve("dest"), CopyOptions.defaults(), CopyProgress.NONE).copy(specs));
        assertEquals("base.qcow2", e.layer());
    }

    private void copy(Chain chain, BiFunction<Layer, Path, QemuNbdServer> serve, Decider decider, CopyOptions options)
            throws Exception {
        ServedCopy.copy(chain, tmp, tmp.resolve("dest"), serve, decider, options, specs -> null);
    }
}
