package io.chainsync.copier;

import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The modes of what a copier creates under its destination root (docs/design.md §3,
 * "Confinement"): layers, manifests and temporary files get {@link #files}, directories
 * {@link #directories}. A mode is given at creation, so a file is never more open than this even
 * for a moment, and then set exactly (a umask may have narrowed it).
 *
 * @param files the mode of every file; must let the owner read and write
 * @param directories the mode of every directory the copier creates; must let the owner read,
 *                    write and enter
 */
public record FileModes(Set<PosixFilePermission> files, Set<PosixFilePermission> directories) {

    /** {@code 0640} files, {@code 0750} directories: never readable by others. */
    public static final FileModes DEFAULT = of("rw-r-----", "rwxr-x---");

    public FileModes {
        files = copy(files);
        directories = copy(directories);
        if (!files.containsAll(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE))) {
            throw new IllegalArgumentException("the file mode must let the owner read and write: "
                    + PosixFilePermissions.toString(files));
        }
        if (!directories.containsAll(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_EXECUTE))) {
            throw new IllegalArgumentException("the directory mode must let the owner read, write and enter: "
                    + PosixFilePermissions.toString(directories));
        }
    }

    /** Modes in {@code ls} notation, e.g. {@code of("rw-r-----", "rwxr-x---")}. */
    public static FileModes of(String files, String directories) {
        return new FileModes(PosixFilePermissions.fromString(files), PosixFilePermissions.fromString(directories));
    }

    private static Set<PosixFilePermission> copy(Set<PosixFilePermission> mode) {
        EnumSet<PosixFilePermission> copy = EnumSet.noneOf(PosixFilePermission.class);
        copy.addAll(mode);
        return Collections.unmodifiableSet(copy);
    }

    FileAttribute<Set<PosixFilePermission>> fileAttribute() {
        return PosixFilePermissions.asFileAttribute(files);
    }

    FileAttribute<Set<PosixFilePermission>> directoryAttribute() {
        return PosixFilePermissions.asFileAttribute(directories);
    }

    @Override
    public String toString() {
        return "files " + PosixFilePermissions.toString(files) + ", directories "
                + PosixFilePermissions.toString(directories);
    }
}
