package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every scenario builds, an exact copy is judged exact, and the naive copiers are judged wrong. */
class ScenariosIT {

    @TempDir
    Path tmp;

    static Stream<Scenario> scenarios() {
        return Scenarios.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void exactCopyIsExactAndNaiveCopiesAreNot(Scenario s) {
        Chain src = s.build(tmp.resolve("src"));
        ChainJudge.judge(src, NaiveCopier.exactCopy(src, tmp.resolve("exact")).dir()).assertExact();

        Verdict everything = ChainJudge.judge(src, NaiveCopier.copyEverything(src, tmp.resolve("everything")).dir());
        assertFalse(everything.isExact(), "copy-everything must fail");
        for (Verdict.Failure f : everything.failures()) {
            assertTrue(f.check() == Verdict.Check.ALONE_CONTENT || f.check() == Verdict.Check.ALONE_PRESENT,
                    "copy-everything keeps every chain right: " + everything);
        }

        Verdict skip = ChainJudge.judge(src, NaiveCopier.skipHoles(src, tmp.resolve("skip"), tmp).dir());
        if (s.trap()) {
            assertFalse(skip.isExact(), "skip-holes copy must fail on " + s);
        }
    }
}
