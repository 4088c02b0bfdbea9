package io.chainsync.copier;

import java.nio.file.Path;

/** Destination layer names: plain file names, confined to their destination directory. */
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

    /**
     * Resolves {@code name} inside {@code root}, refusing any result outside it (after
     * normalisation), so a job can never write outside its destination.
     */
    public static Path resolveInside(Path root, String name) {
        validate(name);
        Path base = root.toAbsolutePath().normalize();
        Path resolved = base.resolve(name).normalize();
        if (!resolved.getParent().equals(base)) {
            throw new IllegalArgumentException("layer " + name + " resolves outside " + base);
        }
        return resolved;
    }
}
