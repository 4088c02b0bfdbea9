package io.chainsync.scanner;

import io.chainsync.core.LayerFormat;
import io.chainsync.core.LayerNames;

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
        return of(text.substring(0, eq), text.substring(eq + 1));
    }

    /** A layer from its name and URI text. */
    public static LayerSpec of(String name, String uri) {
        LayerNames.validate(name);
        try {
            return new LayerSpec(name, NbdUri.parse(uri));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("layer " + name + ": " + e.getMessage(), e);
        }
    }

    /** The destination format, named by the layer's name. */
    public LayerFormat format() {
        return LayerFormat.of(name);
    }
}
