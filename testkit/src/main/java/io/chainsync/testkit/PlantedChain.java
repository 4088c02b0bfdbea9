package io.chainsync.testkit;

import java.nio.file.Path;

/**
 * A two-layer chain that is not the one a test copies, planted in a destination before the copy
 * (e.g. an older chain under the same names, or another chain over a base of the same name), with
 * a pristine twin built the same way elsewhere, so that a test can prove the planted chain intact.
 */
public final class PlantedChain {

    private final Chain chain;
    private final Chain twin;

    private PlantedChain(Chain chain, Chain twin) {
        this.chain = chain;
        this.twin = twin;
    }

    /** Plants {@code base ← top} (data unlike any scenario's) in {@code dir}, its twin in {@code twinDir}. */
    public static PlantedChain plant(Path dir, Path twinDir, String base, String top) {
        return new PlantedChain(build(dir, base, top), build(twinDir, base, top));
    }

    private static Chain build(Path dir, String base, String top) {
        return ChainBuilder.in(dir).base(base).pattern("WXYZ").layer(top).pattern("Q-0-").build();
    }

    public Chain chain() {
        return chain;
    }

    /** Asserts that the planted top is {@code qemu-img check}-clean and its chain reads as its twin's. */
    public void assertIntact() {
        CheckResult check = QemuImg.check(chain.top().path(), "qcow2");
        if (!check.isClean()) {
            throw new AssertionError(chain.top().path() + " is no longer clean: " + check.describe());
        }
        CompareResult compare = QemuImg.compare(chain.top().path(), "qcow2", twin.top().path(), "qcow2");
        if (!compare.identical()) {
            throw new AssertionError("the planted chain " + chain.top().path() + " changed: " + compare.message());
        }
    }
}
