package io.chainsync.copier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * The files of one destination layer, all in its destination directory (held open, see
 * {@link DestDir}): it is written as {@code .NAME.partial} and renamed to {@code NAME} once
 * complete and flushed. Distributed copies keep each chunk's cluster runs in
 * {@code .NAME.partial.chunks/} until the layer is finalized; {@code NAME.manifest.json} marks it
 * finished.
 */
final class LayerFiles {

    private final DestDir dir;
    private final String name;

    LayerFiles(DestDir dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    DestDir dir() {
        return dir;
    }

    /** {@code NAME}. */
    String name() {
        return name;
    }

    /** {@code .NAME.partial}. */
    String temporary() {
        return "." + name + ".partial";
    }

    /** {@code .NAME.partial.chunks}. */
    String chunks() {
        return "." + name + ".partial.chunks";
    }

    /** {@code NAME.manifest.json}: what the layer is and which job finished it. */
    String manifest() {
        return LayerManifest.fileName(name);
    }

    Path target() {
        return dir.resolve(name);
    }

    Path temporaryPath() {
        return dir.resolve(temporary());
    }

    /**
     * Opens the temporary file shared by the tasks of a layer: created exclusively by the first,
     * opened by the others; a link or anything but a regular file there is refused.
     */
    FileChannel openTemporary() throws IOException {
        return dir.createOrOpen(temporary());
    }

    /** A new, empty temporary file, for a writer that writes the whole layer: any earlier one is removed. */
    FileChannel createTemporary() throws IOException {
        dir.delete(temporary());
        return dir.createNew(temporary());
    }

    /** Renames the (already flushed) temporary file to the target and flushes the directory. */
    void commit() throws IOException {
        dir.rename(temporary(), name);
        dir.force();
    }

    /** Removes the temporary file (best effort: a stale .partial file is never mistaken for a layer). */
    void discard() {
        dir.deleteQuietly(temporary());
    }
}
