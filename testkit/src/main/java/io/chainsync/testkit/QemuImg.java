package io.chainsync.testkit;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Thin, strict wrappers around {@code qemu-img} and {@code qemu-io}.
 *
 * <p>Every method runs the real binary with {@link Exec#DEFAULT_TIMEOUT} and throws an
 * {@link IllegalStateException} carrying the command line and stderr when the exit code is not the
 * expected one. Read-only commands ({@code info}, {@code map}, {@code compare}) pass {@code -U}
 * (force-share) so they work on images currently served by qemu-nbd.
 *
 * <p><b>Image specs.</b> Methods taking a {@code String spec} accept whatever qemu accepts as a
 * filename, in particular the {@code json:} specs built by {@link #aloneSpec} (the layer alone,
 * {@code backing:null}) and {@link #chainSpec} (the layer with its backing chain). Those specs name
 * the driver, so no {@code -f} is passed and no format probing happens.
 */
public final class QemuImg {

    private QemuImg() {
    }

    // ------------------------------------------------------------------ specs

    /**
     * A {@code json:} spec opening {@code image} <em>alone</em>: for qcow2 with
     * {@code "backing":null} (what the layer itself provides; unowned ranges read as zeros and map as
     * {@code present:false}); for raw (and other formats without backing) just the image.
     */
    public static String aloneSpec(Path image, String format) {
        ObjectNode spec = JsonNodeFactory.instance.objectNode().put("driver", format);
        if ("qcow2".equals(format) || "qed".equals(format) || "vmdk".equals(format)) {
            spec.putNull("backing");
        }
        spec.set("file", fileNode(image));
        return "json:" + spec;
    }

    /**
     * A {@code json:} spec opening {@code image} with the backing chain named in its header
     * (relative names resolve against the image's directory).
     */
    public static String chainSpec(Path image, String format) {
        ObjectNode spec = JsonNodeFactory.instance.objectNode().put("driver", format);
        spec.set("file", fileNode(image));
        return "json:" + spec;
    }

    private static ObjectNode fileNode(Path image) {
        return JsonNodeFactory.instance.objectNode().put("driver", "file")
                .put("filename", image.toAbsolutePath().toString());
    }

    /** {@code size} rounded up to a multiple of 512: the size qemu exports for it. */
    public static long roundUp512(long size) {
        return (size + 511) & ~511L;
    }

    // ------------------------------------------------------------------ qemu-img create

    /**
     * {@code qemu-img create}.
     *
     * @param image         file to create (overwritten)
     * @param format        "qcow2" or "raw"
     * @param size          virtual size in bytes; {@code null} = take the backing file's size
     *                      (qemu-img rounds up to 512)
     * @param backing       backing file name exactly as it should be stored in the header (use the
     *                      bare file name for a relative reference), or {@code null}
     * @param backingFormat format of the backing file ({@code -F}); required when {@code backing}
     *                      is set
     * @param clusterSize   {@code -o cluster_size=…}, or {@code null} for qemu's default (64 KiB)
     * @param extraOpts     further {@code -o} options, e.g. {@code extended_l2=on}; may be null
     */
    public static void create(Path image, String format, Long size, String backing, String backingFormat,
                              Integer clusterSize, Map<String, String> extraOpts) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", format));
        if (backing != null) {
            if (backingFormat == null) {
                throw new IllegalArgumentException("backing format required for backing " + backing);
            }
            cmd.addAll(List.of("-b", backing, "-F", backingFormat));
        }
        List<String> opts = new ArrayList<>();
        if (clusterSize != null) {
            opts.add("cluster_size=" + clusterSize);
        }
        if (extraOpts != null) {
            extraOpts.forEach((k, v) -> opts.add(k + "=" + v));
        }
        if (!opts.isEmpty()) {
            cmd.addAll(List.of("-o", String.join(",", opts)));
        }
        cmd.add(image.toString());
        if (size != null) {
            cmd.add(Long.toString(size));
        }
        // relative backing names are resolved against the new image's directory
        Exec.run(cmd, Exec.DEFAULT_TIMEOUT, image.toAbsolutePath().getParent()).expectSuccess();
    }

    /** {@code qemu-img create -f FORMAT IMAGE SIZE} without backing or options. */
    public static void create(Path image, String format, long size) {
        create(image, format, size, null, null, null, null);
    }

    // ------------------------------------------------------------------ qemu-io

    /**
     * Runs {@code qemu-io -f FORMAT -c CMD … IMAGE} (opening the image with its backing chain), e.g.
     * {@code io(p, "qcow2", "write -P 0x41 0 64k", "write -z 128k 64k", "discard 0 64k",
     * "write -c -P 0x45 192k 64k")}. qemu-io exits non-zero when a command fails; that throws.
     *
     * @return the result (qemu-io's per-command output is on stdout)
     */
    public static Exec.Result io(Path image, String format, String... commands) {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", format));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(image.toString());
        Exec.Result r = Exec.run(cmd, Exec.DEFAULT_TIMEOUT, image.toAbsolutePath().getParent()).expectSuccess();
        // belt and braces: older qemu-io versions exit 0 after a failed command or a read -P mismatch
        String all = r.stdout() + r.stderr();
        if (all.contains(" failed: ") || all.contains("Pattern verification failed")) {
            throw new IllegalStateException("qemu-io command failed: " + r.commandLine() + "\n" + r.stdout()
                    + r.stderr());
        }
        return r;
    }

    // ------------------------------------------------------------------ info / map / check

    /** {@code qemu-img info -U --output=json} on a plain path (format probed). */
    public static ImageInfo info(Path image) {
        return info(image.toString());
    }

    /** {@code qemu-img info -U --output=json -f FORMAT IMAGE}. */
    public static ImageInfo info(Path image, String format) {
        return ImageInfo.fromJson(Exec.run("qemu-img", "info", "-U", "--output=json", "-f", format,
                image.toString()).expectSuccess().json());
    }

    /** {@code qemu-img info -U --output=json SPEC}. */
    public static ImageInfo info(String spec) {
        return ImageInfo.fromJson(Exec.run("qemu-img", "info", "-U", "--output=json", spec).expectSuccess().json());
    }

    /** {@code qemu-img map -U --output=json SPEC} parsed into entries (in offset order). */
    public static List<MapEntry> map(String spec) {
        return MapEntry.listFromJson(Exec.run("qemu-img", "map", "-U", "--output=json", spec).expectSuccess().json());
    }

    /** {@link #map(String)} of the image opened alone ({@link #aloneSpec}). */
    public static List<MapEntry> mapAlone(Path image, String format) {
        return map(aloneSpec(image, format));
    }

    /**
     * The merged set of ranges with {@code present:true} in {@code qemu-img map} of {@code spec}.
     * For an {@link #aloneSpec} this is exactly the set of bytes the layer provides.
     */
    public static List<Range> presentRanges(String spec) {
        List<Range> r = new ArrayList<>();
        for (MapEntry e : map(spec)) {
            if (e.present()) {
                r.add(e.range());
            }
        }
        return Range.merge(r);
    }

    /**
     * {@code qemu-img check --output=json -f FORMAT IMAGE} (read-only). Never throws for a
     * non-zero exit; inspect {@link CheckResult#isClean()}.
     */
    public static CheckResult check(Path image, String format) {
        return CheckResult.of(Exec.run("qemu-img", "check", "--output=json", "-f", format, image.toString()));
    }

    // ------------------------------------------------------------------ compare / convert / misc

    /**
     * {@code qemu-img compare -U A B} (guest-visible contents; not {@code -s}). Images of different
     * sizes compare equal when the extra part of the larger reads as zeros.
     *
     * @throws IllegalStateException when qemu-img fails (exit ≥ 2), e.g. an image cannot be opened
     */
    public static CompareResult compare(String specA, String specB) {
        Exec.Result r = Exec.run("qemu-img", "compare", "-U", specA, specB).expect(0, 1);
        String msg = r.stdout().strip();
        if (msg.isEmpty()) {
            msg = r.stderr().strip();
        }
        if (msg.endsWith("!")) {
            msg = msg.substring(0, msg.length() - 1);
        }
        return new CompareResult(r.exitCode() == 0, msg);
    }

    /** {@code qemu-img compare} of two plain images, each opened with its backing chain. */
    public static CompareResult compare(Path a, String formatA, Path b, String formatB) {
        return compare(chainSpec(a, formatA), chainSpec(b, formatB));
    }

    /**
     * {@code qemu-img convert [-W] SRC -O FORMAT [extraArgs] DST}, e.g. flattening a chain:
     * {@code convert(chainSpec(top, "qcow2"), dst, "qcow2")}.
     *
     * @param extraArgs inserted before the source, e.g. {@code "-c"}, {@code "-o", "cluster_size=4096"},
     *                  {@code "-B", "base.raw", "-F", "raw"}
     */
    public static void convert(String srcSpec, Path dst, String dstFormat, String... extraArgs) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "convert", "-U", "-O", dstFormat));
        cmd.addAll(List.of(extraArgs));
        cmd.add(srcSpec);
        cmd.add(dst.toString());
        Exec.run(cmd, Exec.DEFAULT_TIMEOUT, dst.toAbsolutePath().getParent()).expectSuccess();
    }

    /**
     * {@code qemu-img rebase -u -b BACKING -F FORMAT IMAGE}: rewrites the backing reference in the
     * header only (no data changes). {@code backing == null} removes the reference.
     */
    public static void rebaseUnsafe(Path image, String backing, String backingFormat) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "rebase", "-u", "-f", "qcow2"));
        if (backing == null) {
            cmd.addAll(List.of("-b", ""));
        } else {
            cmd.addAll(List.of("-b", backing, "-F", backingFormat));
        }
        cmd.add(image.toString());
        Exec.run(cmd, Exec.DEFAULT_TIMEOUT, image.toAbsolutePath().getParent()).expectSuccess();
    }

    /** {@code qemu-img bitmap --add IMAGE NAME} (persistent dirty bitmap in a qcow2 image). */
    public static void bitmapAdd(Path image, String name) {
        Exec.run("qemu-img", "bitmap", "--add", "-f", "qcow2", image.toString(), name).expectSuccess();
    }
}
