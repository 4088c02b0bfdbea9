package io.chainsync.copier;

import io.chainsync.core.LayerNames;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Confines every job's destination to a copier's {@code --dest-root} (docs/design.md §3,
 * "Confinement"). {@link #resolve} checks the text of a destination; {@link #open} opens it on
 * disk, where the text alone proves nothing: a component may be a symbolic link.
 */
public final class Destinations {

    private Destinations() {
    }

    /**
     * The file of layer {@code name} in the job's destination {@code dest}, which is relative to
     * {@code root} (or absolute but inside it). Checks the text only: see {@link #open}.
     *
     * @throws IllegalArgumentException when the result would lie outside {@code root}
     */
    public static Path resolve(Path root, String dest, String name) {
        return layerFile(directory(root, dest), name);
    }

    /**
     * Opens the job's destination {@code dest} under {@code root}, creating the missing directories
     * with the directory mode of {@code modes}, one component at a time and without following any
     * symbolic link: a component that is a link, or not a directory, is refused.
     *
     * @throws IllegalArgumentException when the text of {@code dest} lies outside {@code root}
     * @throws ConfinementException when a component is a symbolic link or not a directory, or
     *                              changed while it was opened
     */
    public static DestDir open(Path root, String dest, FileModes modes) throws IOException {
        return open(root, dest, modes, true);
    }

    /**
     * As {@link #open}, but nothing is created.
     *
     * @throws java.nio.file.NoSuchFileException when the destination does not exist
     */
    public static DestDir openExisting(Path root, String dest, FileModes modes) throws IOException {
        return open(root, dest, modes, false);
    }

    private static DestDir open(Path root, String dest, FileModes modes, boolean create) throws IOException {
        Path base = root.toAbsolutePath().normalize();
        Path dir = directory(base, dest);
        return DestDir.walk(base, base.relativize(dir), dest, modes, create);
    }

    /** The destination directory {@code dest} under {@code root}, normalised, refused when outside it. */
    private static Path directory(Path root, String dest) {
        Path base = root.toAbsolutePath().normalize();
        if (dest == null || dest.isEmpty() || dest.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("destination must be a directory path: '" + dest + "'");
        }
        Path dir = base.resolve(dest).normalize();
        if (!dir.startsWith(base)) {
            throw new IllegalArgumentException("destination " + dest + " lies outside the destination root " + base);
        }
        return dir;
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
