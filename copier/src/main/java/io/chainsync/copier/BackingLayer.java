package io.chainsync.copier;

import io.chainsync.core.LayerFormat;
import io.chainsync.core.LayerNames;
import io.chainsync.qcow2.Qcow2FormatException;
import io.chainsync.qcow2.Qcow2Header;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;

/**
 * An existing layer of a destination that a job's first layer is put on ({@code --backing}; an
 * incremental backup on top of the previous one). Checked where the destination is, before any
 * byte is copied and again when the layer is finalized (docs/design.md §3, "Backing layers"):
 * <ul>
 *   <li>it lies directly in the destination directory, reached without following any link: a
 *       symbolic link there is refused, never followed;</li>
 *   <li>it is a complete image of the format its name says (a qcow2 header, or any raw file);</li>
 *   <li>its virtual size is at most the new layer's: the layer may have grown (qemu reads a range
 *       beyond the end of a backing file as zeroes), but a smaller layer over a larger backing file
 *       would cut the backing's tail off and is refused as a sign of the wrong backing.</li>
 * </ul>
 */
public final class BackingLayer {

    /** Enough for any qcow2 header we read (the fixed v3 part is 104 bytes). */
    private static final int HEADER_BYTES = 4096;

    private BackingLayer() {
    }

    /**
     * Checks that {@code name} can be the backing file of a layer of {@code layerSize} bytes in
     * {@code dir}.
     *
     * @return the backing layer's virtual size
     * @throws BackingLayerException when it is missing, not an image of its format, or larger
     * @throws ConfinementException when it is a symbolic link or not a regular file
     */
    public static long check(DestDir dir, String name, long layerSize) throws IOException {
        LayerNames.validate(name);
        if (dir.isSymbolicLink(name)) {
            throw new ConfinementException("backing " + name + " in " + dir
                    + " is a symbolic link; it is never followed");
        }
        long size;
        try (FileChannel channel = dir.open(name, false)) {
            size = LayerFormat.of(name) == LayerFormat.RAW ? channel.size() : qcow2Size(channel, name, dir);
        } catch (NoSuchFileException e) {
            throw new BackingLayerException("backing " + name + " does not exist in " + dir
                    + " (name an existing layer of the destination)");
        }
        if (size > layerSize) {
            throw new BackingLayerException("backing " + name + " is larger (" + size + " bytes) than the new layer ("
                    + layerSize + " bytes); a layer may grow over its backing file, never shrink");
        }
        return size;
    }

    private static long qcow2Size(FileChannel channel, String name, DestDir dir) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES);
        while (buf.hasRemaining() && channel.read(buf, buf.position()) > 0) {
            // read the first bytes, or the whole file when it is shorter
        }
        buf.flip();
        try {
            return Qcow2Header.decode(buf).size();
        } catch (Qcow2FormatException e) {
            throw new BackingLayerException("backing " + name + " in " + dir + " is not a qcow2 image: "
                    + e.getMessage());
        }
    }

    /** The backing layer cannot carry the new layer: permanent, retrying cannot help. */
    public static final class BackingLayerException extends IOException {
        public BackingLayerException(String message) {
            super(message);
        }
    }
}
