package io.chainsync.copier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The file names of one destination layer: it is written as {@code .NAME.partial} in the
 * destination directory and atomically renamed to {@code NAME} once complete and flushed.
 * Distributed copies keep each chunk's cluster runs in {@code .NAME.partial.chunks/} until the
 * layer is finalized.
 */
final class LayerFiles {

    private final Path target;
    private final Path temporary;
    private final Path chunks;
    private final Path manifest;

    LayerFiles(Path target) {
        this.target = target;
        this.temporary = target.resolveSibling("." + target.getFileName() + ".partial");
        this.chunks = target.resolveSibling("." + target.getFileName() + ".partial.chunks");
        this.manifest = target.resolveSibling(target.getFileName() + ".manifest.json");
    }

    /** {@code NAME.manifest.json}: what the layer is and which job finished it. */
    Path manifest() {
        return manifest;
    }

    Path target() {
        return target;
    }

    Path temporary() {
        return temporary;
    }

    Path chunks() {
        return chunks;
    }

    /** Renames the (already flushed) temporary file to the target and flushes the directory. */
    void commit() throws IOException {
        try {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
        }
        forceDirectory(target.getParent());
    }

    static void forceDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException ignored) {
            // not every file system lets a directory be opened for fsync; the rename stands
        }
    }

    void discard() {
        try {
            Files.deleteIfExists(temporary);
        } catch (IOException ignored) {
            // best effort: a stale .partial file is never mistaken for a layer
        }
    }
}
