package io.chainsync.testkit;

import java.util.List;

/**
 * The outcome of {@link ChainJudge}: every failed check, in layer order.
 *
 * @param failures empty when the reconstruction is exact
 */
public record Verdict(List<Failure> failures) {

    /** The kinds of checks of docs/design.md §4. */
    public enum Check {
        /** destination file missing or unreadable */
        FILE,
        /** {@code qemu-img check} not clean */
        CHECK,
        /** destination format differs from the expected one */
        FORMAT,
        /** virtual size differs from the source export size */
        SIZE,
        /** backing file name or backing format wrong */
        BACKING,
        /** the layer alone does not read the same */
        ALONE_CONTENT,
        /** the layer alone does not provide the same ranges ({@code present} in qemu-img map) */
        ALONE_PRESENT,
        /** the chain up to this layer does not read the same */
        CHAIN_CONTENT
    }

    /**
     * One failed check.
     *
     * @param layer   layer name
     * @param check   which check
     * @param message human-readable reason, e.g. "Content mismatch at offset 131072"
     */
    public record Failure(String layer, Check check, String message) {

        /** The offset of a "Content mismatch at offset N" / "… differ at offset N" message, or -1. */
        public long mismatchOffset() {
            var m = java.util.regex.Pattern.compile("at offset (\\d+)").matcher(message);
            return m.find() ? Long.parseLong(m.group(1)) : -1;
        }

        @Override
        public String toString() {
            return "layer " + layer + ": " + label(check) + ": " + message;
        }

        private static String label(Check c) {
            return switch (c) {
                case ALONE_CONTENT -> "alone";
                case ALONE_PRESENT -> "alone present";
                case CHAIN_CONTENT -> "chain";
                default -> c.name().toLowerCase(java.util.Locale.ROOT);
            };
        }
    }

    public Verdict {
        failures = List.copyOf(failures);
    }

    /** True when every check passed. */
    public boolean isExact() {
        return failures.isEmpty();
    }

    /** The failures of one layer. */
    public List<Failure> failuresFor(String layer) {
        return failures.stream().filter(f -> f.layer().equals(layer)).toList();
    }

    /** True when some failure is of {@code check} for {@code layer}. */
    public boolean has(String layer, Check check) {
        return failures.stream().anyMatch(f -> f.layer().equals(layer) && f.check() == check);
    }

    /** Throws an {@link AssertionError} listing every failure, one per line, unless exact. */
    public void assertExact() {
        if (!isExact()) {
            throw new AssertionError("reconstruction is not exact (" + failures.size() + " failure"
                    + (failures.size() == 1 ? "" : "s") + "):\n  " + String.join("\n  ",
                    failures.stream().map(Failure::toString).toList()));
        }
    }

    @Override
    public String toString() {
        return isExact() ? "exact" : String.join("\n", failures.stream().map(Failure::toString).toList());
    }
}
