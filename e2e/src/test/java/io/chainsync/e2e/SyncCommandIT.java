package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.chainsync.cli.Main;
import io.chainsync.testkit.ServedChain;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainJudge;
import io.chainsync.testkit.Scenario;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code chainsync sync} on its embedded default (local broker and registry started by the
 * command itself), judged by docs/design.md §4 like {@code copy}.
 */
class SyncCommandIT {

    @TempDir
    Path tmp;

    static Stream<Scenario> scenarios() {
        return Stream.of(Scenarios.SEED_RAW, Scenarios.THREE_LAYERS, Scenarios.CLUSTERS_4K, Scenarios.COMPRESSED);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void syncReconstructsExactly(Scenario scenario) throws Exception {
        Chain chain = scenario.build(tmp.resolve("src"));
        int code;
        try (ServedChain served = new ServedChain(chain, Files.createDirectories(tmp.resolve("s")))) {
            List<String> args = new ArrayList<>(List.of("sync", "--dest", tmp.resolve("dest").toString(),
                    "--chunk-size", String.valueOf(2 << 20)));
            args.addAll(served.layerArgs());
            code = Main.run(args.toArray(String[]::new));
        }
        assertEquals(0, code);
        ChainJudge.assertExact(chain, tmp.resolve("dest"));
    }
}
