package io.chainsync.copier;

import io.chainsync.nbd.NbdUri;

/**
 * One layer to reconstruct: its destination file name (relative, no directories) and the NBD URI
 * serving the source layer (alone, or with its backing chain attached).
 */
public record LayerSpec(String name, NbdUri source) {

    public LayerSpec {
        LayerNames.validate(name);
        if (source == null) {
            throw new IllegalArgumentException("layer " + name + ": source URI must not be null");
        }
    }

    /** Parses {@code NAME=NBD_URI}. */
    public static LayerSpec parse(String text) {
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
            throw new IllegalArgumentException("expected NAME=NBD_URI, got '" + text + "'");
        }
        String name = text.substring(0, eq);
        try {
            return new LayerSpec(name, NbdUri.parse(text.substring(eq + 1)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("layer " + name + ": " + e.getMessage(), e);
        }
    }

    /** A raw destination: the name ends in {@code .raw}. */
    public boolean raw() {
        return name.endsWith(".raw");
    }

    /** The qcow2 backing format that names this layer's format. */
    public String format() {
        return raw() ? "raw" : "qcow2";
    }
}
