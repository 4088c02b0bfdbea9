package io.chainsync.testkit;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * A named recipe for a source chain (see {@link Scenarios}).
 *
 * @param name    short id, usable as a parameterized test name
 * @param builder builds the chain in the given (empty) directory
 * @param trap    true when a skip-holes copier ({@link NaiveCopier#skipHoles}) must be judged wrong
 *                on this chain (some layer above the bottom owns zero ranges)
 */
public record Scenario(String name, Function<Path, Chain> builder, boolean trap) {

    /** Builds the chain in {@code dir}. */
    public Chain build(Path dir) {
        return builder.apply(dir);
    }

    @Override
    public String toString() {
        return name;
    }
}
