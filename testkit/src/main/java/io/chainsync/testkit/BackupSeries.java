package io.chainsync.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A disk backed up three times — a full backup, then two incrementals from dirty bitmaps — with
 * writes, zero writes and discards between the backups, and a snapshot of the disk taken at each
 * backup point (docs/design.md §4, "Incremental backups"):
 *
 * <pre>
 * disk.qcow2 (64 KiB clusters, 4 MiB + 4 KiB, no backing)
 *   W0: data at [0,1M) [2M,2.5M) [3M,3M+64k) [4M,4M+4k)           bitmap b1 added (128 KiB granularity)
 *   snapshot s0 ─► full backup      (served alone, -A)
 *   W1: 4 KiB write in a data cluster, zero write over data at 2M, DISCARD of [3M,3M+64k),
 *       new data at 3.5M                                            bitmap b2 added (16 KiB granularity)
 *   snapshot s1 ─► incremental 1    (-B b1, backing: the full backup)
 *   W2: 16 KiB write over the zeroed range, discard of [0,128k), 8 KiB zero write inside data
 *   snapshot s2 ─► incremental 2    (-B b2, backing: incremental 1)
 * </pre>
 *
 * The trimmed block {@link #TRIMMED} held data in the full backup and must read as zeroes from
 * the first incremental on: an incremental that skips dirty zero ranges shows the full backup's
 * bytes there (virtnbdbackup's known bug). The bitmaps' granularities differ from the cluster
 * size on both sides, so the chosen destination cluster size matters.
 */
public final class BackupSeries {

    /** The block discarded after the full backup. */
    public static final long TRIMMED = 3L << 20;
    public static final long SIZE = (4L << 20) + 4096;

    /**
     * One backup point.
     *
     * @param snapshot the disk as it was at this point
     * @param bitmap the bitmap holding what changed since the previous point, null for the full backup
     * @param backup the backup layer's file name
     * @param backing the previous backup's file name, null for the full backup
     */
    public record Point(Path snapshot, String bitmap, String backup, String backing) {

        /** Serves the snapshot as a backup reads it: alone with -A (full), with -B BITMAP (incremental). */
        public QemuNbdServer serve(Path sockDir) {
            QemuNbdServer.Builder b = QemuNbdServer.builder(QemuImg.aloneSpec(snapshot, "qcow2"), "qcow2");
            if (bitmap != null) {
                b.allocationDepth(false).bitmap(bitmap);
            }
            return b.start(sockDir);
        }
    }

    private final List<Point> points;

    private BackupSeries(List<Point> points) {
        this.points = List.copyOf(points);
    }

    /** Builds the disk and its three snapshots in {@code dir}. */
    public static BackupSeries build(Path dir) {
        try {
            Files.createDirectories(dir);
            Path disk = dir.resolve("disk.qcow2");
            QemuImg.create(disk, "qcow2", SIZE, null, null, 65536, null);
            QemuImg.io(disk, "qcow2", "write -P 0x41 0 1M", "write -P 0x42 2M 512k", "write -P 0x43 3M 64k",
                    "write -P 0x44 4M 4k");
            bitmap(disk, "b1", 128 * 1024);
            List<Point> points = new ArrayList<>();
            points.add(new Point(snapshot(disk, dir, 0), null, "full.qcow2", null));
            QemuImg.io(disk, "qcow2", "write -P 0x51 64k 4k", "write -z 2M 64k", "discard 3M 64k",
                    "write -P 0x52 3584k 256k");
            bitmap(disk, "b2", 16 * 1024);
            points.add(new Point(snapshot(disk, dir, 1), "b1", "inc1.qcow2", "full.qcow2"));
            QemuImg.io(disk, "qcow2", "write -P 0x61 2M 16k", "discard 0 128k", "write -z 512k 8k");
            points.add(new Point(snapshot(disk, dir, 2), "b2", "inc2.qcow2", "inc1.qcow2"));
            return new BackupSeries(points);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void bitmap(Path disk, String name, int granularity) {
        Exec.run("qemu-img", "bitmap", "--add", "--enable", "-g", Integer.toString(granularity), "-f", "qcow2",
                disk.toString(), name).expectSuccess();
    }

    private static Path snapshot(Path disk, Path dir, int n) throws IOException {
        return Files.copy(disk, dir.resolve("s" + n + ".qcow2"));
    }

    public List<Point> points() {
        return points;
    }

    /**
     * Judges the backups in {@code destDir}: each backup is {@code qemu-img check} clean and names
     * the previous one as its backing file; each chain prefix (a backup with its backing files)
     * compares identical to the disk at its point; the trimmed block reads as zeroes from the first
     * incremental on.
     *
     * @return one line per failure, empty when exact
     */
    public List<String> judge(Path destDir) {
        List<String> failures = new ArrayList<>();
        for (Point p : points) {
            Path backup = destDir.resolve(p.backup());
            if (!Files.exists(backup)) {
                failures.add(p.backup() + ": missing");
                continue;
            }
            if (!QemuImg.check(backup, "qcow2").isClean()) {
                failures.add(p.backup() + ": qemu-img check not clean");
            }
            String backing = QemuImg.info(backup, "qcow2").backingFile();
            if (!java.util.Objects.equals(p.backing(), backing)) {
                failures.add(p.backup() + ": backing file " + backing + ", expected " + p.backing());
            }
            CompareResult chain = QemuImg.compare(QemuImg.chainSpec(backup, "qcow2"),
                    QemuImg.chainSpec(p.snapshot(), "qcow2"));
            if (!chain.identical()) {
                failures.add(p.backup() + ": chain differs from the disk at its point: " + chain.message());
            }
            if (p.bitmap() != null && !trimmedReadsZero(backup)) {
                failures.add(p.backup() + ": the block trimmed at " + TRIMMED + " does not read as zeroes");
            }
        }
        return failures;
    }

    private static boolean trimmedReadsZero(Path backup) {
        Exec.Result r = Exec.run(List.of("qemu-io", "-r", "-f", "qcow2", "-c", "read -P 0 " + TRIMMED + " 64k",
                backup.toString()), Exec.DEFAULT_TIMEOUT, backup.toAbsolutePath().getParent());
        return r.exitCode() == 0 && !(r.stdout() + r.stderr()).contains("Pattern verification failed");
    }
}
