package io.chainsync.testkit;

import io.chainsync.core.LayerFormat;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Builds real source chains with qemu-img/qemu-io, one call at a time (each call acts immediately).
 *
 * <pre>{@code
 * Chain seed = ChainBuilder.in(dir).size(256 * 1024).clusterSize(64 * 1024)
 *         .base("base.raw").pattern("ABC-")
 *         .layer("top.qcow2").pattern("-D0-")
 *         .build();
 * }</pre>
 *
 * <p><b>Pattern language</b> ({@link #pattern(String)}): one character per unit (default: the
 * current layer's cluster size; for a raw base the builder's cluster size), applied to the current
 * layer through {@code qemu-io} with the layer's backing chain open:
 * <ul>
 * <li>{@code A–Z}, {@code 1–9}: {@code write -P <char code>} (data filled with that ASCII byte)</li>
 * <li>{@code a–z}: {@code write -c -P <upper-case char code>}: a compressed cluster with the same
 *     content as the upper-case letter (qcow2 only; units must be whole clusters)</li>
 * <li>{@code 0}: {@code write -z} (qcow2: a zero cluster hiding the backing)</li>
 * <li>{@code _}: {@code write -z -u} (zero write allowed to unmap)</li>
 * <li>{@code ~}: {@code discard} (qcow2 v3 over a backing file: a zero cluster; without backing:
 *     unallocated)</li>
 * <li>{@code -} or {@code .}: untouched</li>
 * </ul>
 * The last unit is clipped to the layer's size. Layers above the base are qcow2 with the backing
 * reference stored as the bare file name of the previous layer plus its format.
 */
public final class ChainBuilder {

    /** 64 KiB, qemu's default qcow2 cluster size. */
    public static final int DEFAULT_CLUSTER = 64 * 1024;

    private final Path dir;
    private final List<Layer> layers = new ArrayList<>();
    private long size = 4L * DEFAULT_CLUSTER;
    private int clusterSize = DEFAULT_CLUSTER;
    private final Map<String, String> opts = new LinkedHashMap<>();
    // current layer facts
    private long currentSize;
    private int currentUnit;

    private ChainBuilder(Path dir) {
        this.dir = dir;
    }

    /** A builder creating files in {@code dir} (created if missing). */
    public static ChainBuilder in(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + dir, e);
        }
        return new ChainBuilder(dir.toAbsolutePath());
    }

    /**
     * The seed scenario of docs/design.md §1: 64 KiB clusters, 256 KiB; base {@code ABC-} (raw
     * {@code base.raw} or qcow2 {@code base.qcow2}), top {@code top.qcow2} = {@code -D0-}.
     */
    public static Chain seed(Path dir, boolean rawBase) {
        return in(dir).size(4L * DEFAULT_CLUSTER).clusterSize(DEFAULT_CLUSTER)
                .base(rawBase ? "base.raw" : "base.qcow2").pattern("ABC-")
                .layer("top.qcow2").pattern("-D0-")
                .build();
    }

    /**
     * A random pattern of {@code units} characters drawn from {@code alphabet} (e.g.
     * {@code "ABCD0~--"}: repeat a character to weight it), for randomized chains.
     */
    public static String randomPattern(Random rnd, int units, String alphabet) {
        StringBuilder b = new StringBuilder(units);
        for (int i = 0; i < units; i++) {
            b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    // ------------------------------------------------------------------ settings for later layers

    /** Virtual size of the base (and of later layers created with an explicit size). */
    public ChainBuilder size(long bytes) {
        size = bytes;
        return this;
    }

    /** Cluster size of qcow2 layers created afterwards (also the pattern unit for a raw base). */
    public ChainBuilder clusterSize(int bytes) {
        clusterSize = bytes;
        return this;
    }

    /** {@code extended_l2=on|off} for qcow2 layers created afterwards. */
    public ChainBuilder extendedL2(boolean on) {
        return opt("extended_l2", on ? "on" : "off");
    }

    /** Any {@code -o key=value} for qcow2 layers created afterwards ({@code null} value removes it). */
    public ChainBuilder opt(String key, String value) {
        if (value == null) {
            opts.remove(key);
        } else {
            opts.put(key, value);
        }
        return this;
    }

    // ------------------------------------------------------------------ layers

    /**
     * Creates the bottom layer in the format its name gives ({@link LayerFormat#of}): raw (a sparse
     * file of exactly {@link #size} bytes, which need not be a multiple of 512) or qcow2.
     */
    public ChainBuilder base(String name) {
        if (!layers.isEmpty()) {
            throw new IllegalStateException("base already created: " + layers);
        }
        Layer base = Layer.inDir(dir, name);
        if (base.isRaw()) {
            try {
                Files.deleteIfExists(base.path());
                try (RandomAccessFile f = new RandomAccessFile(base.path().toFile(), "rw")) {
                    f.setLength(size);
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot create " + base.path(), e);
            }
            layers.add(base);
            currentSize = size;
            currentUnit = clusterSize;
        } else {
            QemuImg.create(base.path(), base.format(), size, null, null, clusterSize, opts);
            layers.add(base);
            afterCreate();
        }
        return this;
    }

    /** {@link #size(long)}, {@link #clusterSize(int)}, then {@link #base(String)}. */
    public ChainBuilder base(String name, long size, int clusterSize) {
        return size(size).clusterSize(clusterSize).base(name);
    }

    /** Adds a qcow2 layer over the previous one, with the backing file's size. */
    public ChainBuilder layer(String name) {
        return addLayer(name, null);
    }

    /** Adds a qcow2 layer over the previous one with its own virtual size (a resized disk). */
    public ChainBuilder layer(String name, long virtualSize) {
        return addLayer(name, virtualSize);
    }

    private ChainBuilder addLayer(String name, Long virtualSize) {
        Layer below = current();
        if (!LayerFormat.of(name).canHaveBacking()) {
            throw new IllegalArgumentException("only the base may be raw: " + name);
        }
        Layer layer = Layer.inDir(dir, name);
        QemuImg.create(layer.path(), layer.format(), virtualSize, below.name(), below.format(), clusterSize, opts);
        layers.add(layer);
        afterCreate();
        return this;
    }

    private void afterCreate() {
        ImageInfo info = current().info();
        currentSize = info.virtualSize();
        currentUnit = info.clusterSize() == null ? clusterSize : info.clusterSize().intValue();
    }

    private Layer current() {
        if (layers.isEmpty()) {
            throw new IllegalStateException("create a base first");
        }
        return layers.get(layers.size() - 1);
    }

    // ------------------------------------------------------------------ content of the current layer

    /** Applies a pattern (see class doc) with one character per cluster of the current layer. */
    public ChainBuilder pattern(String pattern) {
        return pattern(pattern, currentUnit);
    }

    /** Applies a pattern with one character per {@code unit} bytes. */
    public ChainBuilder pattern(String pattern, long unit) {
        List<String> cmds = new ArrayList<>();
        int i = 0;
        while (i < pattern.length()) {
            char c = pattern.charAt(i);
            int j = i + 1;
            boolean mergeable = !(c >= 'a' && c <= 'z'); // compressed writes: one cluster at a time
            while (mergeable && j < pattern.length() && pattern.charAt(j) == c) {
                j++;
            }
            long off = i * unit;
            long end = Math.min(j * unit, currentSize);
            if (off < end) {
                String cmd = command(c, off, end - off);
                if (cmd != null) {
                    cmds.add(cmd);
                }
            }
            i = j;
        }
        return io(cmds.toArray(String[]::new));
    }

    private static String command(char c, long off, long len) {
        if ((c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9')) {
            return "write -P 0x" + Integer.toHexString(c) + " " + off + " " + len;
        }
        if (c >= 'a' && c <= 'z') {
            return "write -c -P 0x" + Integer.toHexString(Character.toUpperCase(c)) + " " + off + " " + len;
        }
        return switch (c) {
            case '0' -> "write -z " + off + " " + len;
            case '_' -> "write -z -u " + off + " " + len;
            case '~' -> "discard " + off + " " + len;
            case '-', '.' -> null;
            default -> throw new IllegalArgumentException("unknown pattern character '" + c + "'");
        };
    }

    /** {@code write -P byteValue off len} on the current layer. */
    public ChainBuilder write(int byteValue, long off, long len) {
        return io("write -P 0x" + Integer.toHexString(byteValue & 0xff) + " " + off + " " + len);
    }

    /** {@code write -c -P byteValue off len} (compressed; qcow2, whole clusters). */
    public ChainBuilder compressed(int byteValue, long off, long len) {
        return io("write -c -P 0x" + Integer.toHexString(byteValue & 0xff) + " " + off + " " + len);
    }

    /** {@code write -z off len} on the current layer. */
    public ChainBuilder zero(long off, long len) {
        return io("write -z " + off + " " + len);
    }

    /** {@code write -z -u off len} on the current layer. */
    public ChainBuilder zeroUnmap(long off, long len) {
        return io("write -z -u " + off + " " + len);
    }

    /** {@code discard off len} on the current layer. */
    public ChainBuilder discard(long off, long len) {
        return io("discard " + off + " " + len);
    }

    /** Raw qemu-io commands on the current layer (opened with its backing chain). */
    public ChainBuilder io(String... commands) {
        if (commands.length > 0) {
            Layer l = current();
            QemuImg.io(l.path(), l.format(), commands);
        }
        return this;
    }

    /** Adds a persistent dirty bitmap to the current (qcow2) layer. */
    public ChainBuilder bitmap(String name) {
        QemuImg.bitmapAdd(current().path(), name);
        return this;
    }

    /** The current layer's virtual size (raw: the exact file size). */
    public long currentSize() {
        return currentSize;
    }

    /** The chain built so far. */
    public Chain build() {
        return new Chain(dir, layers);
    }
}
