package io.chainsync.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.jobs.Jobs;
import io.chainsync.nbd.NbdUri;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import io.chainsync.testkit.BackupSeries;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.CompareResult;
import io.chainsync.testkit.QemuImg;
import io.chainsync.testkit.QemuNbdServer;
import io.chainsync.testkit.Scenarios;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backups through the pipeline: a full backup and two incrementals from dirty bitmaps, each job's
 * layer put on the previous backup with {@code backing} (docs/design.md §4, "Incremental
 * backups"); a flattened full backup; a missing backing layer fails the job.
 */
class IncrementalPipelineIT {

    @RegisterExtension
    static final PipelineStack e2e = PipelineStack.perClass();

    @TempDir
    Path tmp;

    @Test
    void fullAndTwoIncrementalsGiveTheDiskAtEachPoint() throws Exception {
        BackupSeries series = BackupSeries.build(tmp.resolve("src"));
        for (BackupSeries.Point point : series.points()) {
            try (QemuNbdServer server = point.serve(Files.createDirectories(tmp.resolve("s")))) {
                JobStatus status = run(JobSpec.of(null, List.of(new LayerSpec(point.backup(),
                        NbdUri.parse(server.uri()))), "backups", null, point.bitmap(), 2L << 20, point.backing(),
                        false));
                assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
            }
        }
        assertEquals(List.of(), series.judge(e2e.destRoot().resolve("backups")));
    }

    @Test
    void flattenedFullBackup() throws Exception {
        Chain chain = Scenarios.FOUR_LAYERS_RAW_BASE.build(tmp.resolve("src"));
        try (QemuNbdServer server = QemuNbdServer.serveWithBacking(chain.top().path(),
                Files.createDirectories(tmp.resolve("s")))) {
            JobStatus status = run(JobSpec.of(null, List.of(new LayerSpec("disk.qcow2", NbdUri.parse(server.uri()))),
                    "flat", null, null, 2L << 20, null, true));
            assertEquals(JobState.COMPLETE, status.getState(), String.valueOf(status));
        }
        Path flat = e2e.destRoot().resolve("flat").resolve("disk.qcow2");
        assertTrue(QemuImg.check(flat, "qcow2").isClean());
        CompareResult r = QemuImg.compare(QemuImg.chainSpec(flat, "qcow2"),
                QemuImg.chainSpec(chain.top().path(), "qcow2"));
        assertTrue(r.identical(), r.message());
    }

    @Test
    void aMissingBackingLayerFailsTheJobNamingIt() throws Exception {
        BackupSeries series = BackupSeries.build(tmp.resolve("src"));
        BackupSeries.Point inc1 = series.points().get(1);
        try (QemuNbdServer server = inc1.serve(Files.createDirectories(tmp.resolve("s")))) {
            JobStatus status = run(JobSpec.of(null, List.of(new LayerSpec(inc1.backup(), NbdUri.parse(server.uri()))),
                    "nobacking", null, inc1.bitmap(), 2L << 20, inc1.backing(), false));
            assertEquals(JobState.FAILED, status.getState(), String.valueOf(status));
            String text = String.valueOf(status);
            assertTrue(text.contains("inc1.qcow2") && text.contains("backing full.qcow2 does not exist"), text);
        }
        assertFalse(Files.exists(e2e.destRoot().resolve("nobacking").resolve("inc1.qcow2")));
    }

    private static JobStatus run(JobSpec job) throws Exception {
        Jobs.submit(e2e.config(), e2e.topics(), job);
        return e2e.await(job.job());
    }
}
