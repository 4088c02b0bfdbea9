package io.chainsync.testkit;

import io.chainsync.core.LayerFormat;
import java.nio.file.Path;

/**
 * One layer of a chain.
 *
 * @param name   file name (also the relative backing reference the next layer stores)
 * @param path   the file
 * @param format "qcow2" or "raw"
 */
public record Layer(String name, Path path, String format) {

    /** A layer whose format follows the destination naming rule, {@link LayerFormat#of}. */
    public static Layer inDir(Path dir, String name) {
        return new Layer(name, dir.resolve(name), LayerFormat.of(name).qemuName());
    }

    public boolean isRaw() {
        return LayerFormat.RAW.qemuName().equals(format);
    }

    /** {@link QemuImg#aloneSpec}: this layer without its backing. */
    public String aloneSpec() {
        return QemuImg.aloneSpec(path, format);
    }

    /** {@link QemuImg#chainSpec}: this layer with its backing chain. */
    public String chainSpec() {
        return QemuImg.chainSpec(path, format);
    }

    /** {@code qemu-img info} of this file. */
    public ImageInfo info() {
        return QemuImg.info(path, format);
    }
}
