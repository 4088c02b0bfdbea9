package io.chainsync.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The judgement of docs/design.md §4: is a reconstructed chain an exact layer-by-layer copy of the source?
 *
 * <p>For every layer i (source layer i vs destination layer i of the same name; destination format
 * raw iff the name ends with ".raw", else qcow2):
 * <ol>
 * <li><b>metadata</b>: the file exists; {@code qemu-img check} is clean (qcow2); format as expected;
 *     virtual size = source virtual size rounded up to 512 (the NBD export size, docs/design.md §2);
 *     backing file = previous layer's bare name and backing format = previous destination layer's
 *     format; the bottom layer has no backing.</li>
 * <li><b>alone</b> ({@code backing:null} on both sides): {@code qemu-img compare} identical, and the
 *     {@code present:true} ranges of {@code qemu-img map} identical — this is what catches a copier
 *     that drops zero clusters (they read as zero alone but must be <em>present</em>) or that copies
 *     backing data into the layer. The present check is skipped when exactly one side is raw: a raw
 *     image has no notion of "not provided" (qemu maps it all {@code present}), while a qcow2 bottom
 *     layer legitimately leaves zero ranges unallocated; for a bottom layer both read the same (nothing
 *     is below), which the content comparison already proves.</li>
 * <li><b>chain</b> (i ≥ 1): {@code qemu-img compare} of source layer i with its backing chain vs
 *     destination layer i with its backing chain identical (for i = 0 this equals the alone
 *     comparison and is not repeated).</li>
 * </ol>
 * {@code qemu-img compare -s} is deliberately not used: it also compares the physical representation
 * (compressed vs plain, preallocated vs plain zero clusters).
 */
public final class ChainJudge {

    private ChainJudge() {
    }

    /**
     * Judges {@code destDir} against {@code source}: destination layer i is
     * {@code destDir/<source layer i name>}.
     */
    public static Verdict judge(Chain source, Path destDir) {
        return judge(source.layers(), source.expectedIn(destDir).layers());
    }

    /**
     * Judges explicit destination layers against source layers (both bottom first, same count).
     * The expected backing reference of dest layer i is {@code dest.get(i-1).name()} with format
     * {@code dest.get(i-1).format()}.
     */
    public static Verdict judge(List<Layer> source, List<Layer> dest) {
        if (source.size() != dest.size()) {
            throw new IllegalArgumentException("source has " + source.size() + " layers, destination "
                    + dest.size());
        }
        List<Verdict.Failure> failures = new ArrayList<>();
        for (int i = 0; i < source.size(); i++) {
            judgeLayer(source, dest, i, failures);
        }
        return new Verdict(failures);
    }

    /** Judges two chains layer by layer (same number of layers, bottom first). */
    public static Verdict judge(Chain source, Chain dest) {
        return judge(source.layers(), dest.layers());
    }

    /** Shortcut: {@code judge(source, destDir).assertExact()}. */
    public static void assertExact(Chain source, Path destDir) {
        judge(source, destDir).assertExact();
    }

    private static void judgeLayer(List<Layer> source, List<Layer> dest, int i, List<Verdict.Failure> out) {
        Layer src = source.get(i);
        Layer dst = dest.get(i);
        String name = src.name();
        if (!Files.isRegularFile(dst.path())) {
            out.add(new Verdict.Failure(name, Verdict.Check.FILE, "missing: " + dst.path()));
            return;
        }
        // 1. metadata
        if (!dst.isRaw()) {
            CheckResult c = QemuImg.check(dst.path(), "qcow2");
            if (!c.isClean()) {
                out.add(new Verdict.Failure(name, Verdict.Check.CHECK, "qemu-img check: " + c.describe()));
            }
        }
        ImageInfo si;
        ImageInfo di;
        try {
            si = QemuImg.info(src.path(), src.format());
        } catch (IllegalStateException e) {
            out.add(new Verdict.Failure(name, Verdict.Check.FILE, "source qemu-img info failed: " + firstLine(e)));
            return;
        }
        try {
            // opened with the expected driver: a raw-named file is raw by definition (probing could
            // mistake guest data for a header), a qcow2-named file must open as qcow2
            di = QemuImg.info(dst.path(), dst.format());
        } catch (IllegalStateException e) {
            String probed;
            try {
                probed = QemuImg.info(dst.path()).format();
            } catch (IllegalStateException e2) {
                probed = "unreadable";
            }
            out.add(new Verdict.Failure(name, Verdict.Check.FORMAT, "expected " + dst.format() + ", found "
                    + probed + " (" + firstLine(e) + ")"));
            return; // further comparisons would open it with the wrong driver
        }
        long expectedSize = QemuImg.roundUp512(si.virtualSize());
        if (di.virtualSize() != expectedSize) {
            out.add(new Verdict.Failure(name, Verdict.Check.SIZE, "virtual size " + di.virtualSize()
                    + ", expected " + expectedSize));
        }
        String expBacking = i == 0 ? null : dest.get(i - 1).name();
        String expBackingFmt = i == 0 ? null : dest.get(i - 1).format();
        if (!Objects.equals(expBacking, di.backingFile())) {
            out.add(new Verdict.Failure(name, Verdict.Check.BACKING, "backing file "
                    + describe(di.backingFile()) + ", expected " + describe(expBacking)));
        }
        if (!Objects.equals(expBackingFmt, di.backingFormat())) {
            out.add(new Verdict.Failure(name, Verdict.Check.BACKING, "backing format "
                    + describe(di.backingFormat()) + ", expected " + describe(expBackingFmt)));
        }
        // 2. the layer alone
        compare(name, Verdict.Check.ALONE_CONTENT, src.aloneSpec(), dst.aloneSpec(), out);
        if (src.isRaw() == dst.isRaw()) {
            try {
                List<Range> sp = QemuImg.presentRanges(src.aloneSpec());
                List<Range> dp = QemuImg.presentRanges(dst.aloneSpec());
                long diff = Range.firstDifference(sp, dp);
                if (diff >= 0) {
                    out.add(new Verdict.Failure(name, Verdict.Check.ALONE_PRESENT, "provided ranges differ at offset "
                            + diff + ": source " + abbreviate(sp) + " vs destination " + abbreviate(dp)));
                }
            } catch (IllegalStateException e) {
                out.add(new Verdict.Failure(name, Verdict.Check.ALONE_PRESENT, "qemu-img map failed: "
                        + firstLine(e)));
            }
        }
        // 3. the chain up to this layer
        if (i > 0) {
            compare(name, Verdict.Check.CHAIN_CONTENT, src.chainSpec(), dst.chainSpec(), out);
        }
    }

    private static void compare(String name, Verdict.Check check, String a, String b, List<Verdict.Failure> out) {
        try {
            CompareResult r = QemuImg.compare(a, b);
            if (!r.identical()) {
                out.add(new Verdict.Failure(name, check, r.message()));
            }
        } catch (IllegalStateException e) {
            out.add(new Verdict.Failure(name, check, "qemu-img compare failed: " + firstLine(e)));
        }
    }

    private static String describe(String s) {
        return s == null ? "none" : "'" + s + "'";
    }

    private static String abbreviate(List<Range> r) {
        if (r.size() <= 8) {
            return r.toString();
        }
        return r.subList(0, 8).toString().replace("]", ", … (" + r.size() + " ranges)]");
    }

    private static String firstLine(Exception e) {
        String m = String.valueOf(e.getMessage());
        String[] lines = m.split("\n");
        // command line + first stderr line
        return lines.length > 2 ? lines[0] + " / " + lines[2] : m.replace('\n', ' ');
    }
}
