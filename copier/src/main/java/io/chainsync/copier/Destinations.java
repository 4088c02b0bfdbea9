package io.chainsync.copier;

import io.chainsync.core.LayerNames;

import java.nio.file.Path;

/** Confines every job's destination to a copier's {@code --dest-root}. */
public final class Destinations {

    private Destinations() {
    }

    /**
     * The file of layer {@code name} in the job's destination {@code dest}, which is relative to
     * {@code root} (or absolute but inside it).
     *
     * @throws IllegalArgumentException when the result would lie outside {@code root}
     */
    public static Path resolve(Path root, String dest, String name) {
        Path base = root.toAbsolutePath().normalize();
        if (dest == null || dest.isEmpty() || dest.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("destination must be a directory path: '" + dest + "'");
        }
        Path dir = base.resolve(dest).normalize();
        if (!dir.startsWith(base)) {
            throw new IllegalArgumentException("destination " + dest + " lies outside the destination root " + base);
        }
        return layerFile(dir, name);
    }

    /**
     * The file of layer {@code name} directly inside {@code dir}, refusing any result outside it
     * (after normalisation), so a job can never write outside its destination.
     */
    public static Path layerFile(Path dir, String name) {
        LayerNames.validate(name);
        Path base = dir.toAbsolutePath().normalize();
        Path resolved = base.resolve(name).normalize();
        if (!resolved.getParent().equals(base)) {
            throw new IllegalArgumentException("layer " + name + " resolves outside " + base);
        }
        return resolved;
    }
}
