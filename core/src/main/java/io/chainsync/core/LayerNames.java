package io.chainsync.core;

/**
 * Destination layer names: plain file names (no directories, not hidden), whose ending names the
 * layer's {@link LayerFormat}.
 */
public final class LayerNames {

    private static final int MAX_NAME = 255;

    private LayerNames() {
    }

    /** @throws IllegalArgumentException when the name is not a plain, safe file name */
    public static void validate(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("layer name must not be empty");
        }
        if (name.length() > MAX_NAME) {
            throw new IllegalArgumentException("layer name is longer than " + MAX_NAME + " characters: " + name);
        }
        if (name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")
                || name.startsWith(".") || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("layer name must be a plain file name not starting with '.': " + name);
        }
    }

    /** The format of a valid layer name. */
    public static LayerFormat format(String name) {
        validate(name);
        return LayerFormat.of(name);
    }
}
