package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerStatus;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Usage errors of {@code retry} and {@code cancel}, and the pending work {@code status} prints: no broker needed. */
class JobControlCommandsTest {

    private static final String[] KAFKA = {"--bootstrap-servers", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:1"};

    private static String[] args(String command, String... more) {
        String[] out = new String[1 + KAFKA.length + more.length];
        out[0] = command;
        System.arraycopy(KAFKA, 0, out, 1, KAFKA.length);
        System.arraycopy(more, 0, out, 1 + KAFKA.length, more.length);
        return out;
    }

    @Test
    void retryAndCancelNeedExactlyOneJob() {
        for (String command : List.of("retry", "cancel")) {
            CopyCommandIT.Result r = CopyCommandIT.run(args(command));
            assertEquals(Main.EXIT_USAGE, r.code(), r.err());
            assertTrue(r.err().contains("Missing required parameter: 'JOB'"), r.err());
            assertTrue(r.err().contains("Try 'chainsync " + command + " --help'"), r.err());

            r = CopyCommandIT.run(args(command, "job-a", "job-b"));
            assertEquals(Main.EXIT_USAGE, r.code(), r.err());
            assertTrue(r.err().contains("job-b"), r.err());
        }
    }

    @Test
    void retryAndCancelNeedTheBrokerAndRegistry() {
        for (String command : List.of("retry", "cancel")) {
            CopyCommandIT.Result r = CopyCommandIT.run(command, "job-a");
            assertEquals(Main.EXIT_USAGE, r.code(), r.err());
            assertTrue(r.err().contains("--bootstrap-servers") && r.err().contains("--registry-url"), r.err());
        }
    }

    @Test
    void retryTimeoutMustBeANumber() {
        CopyCommandIT.Result r = CopyCommandIT.run(args("retry", "job-a", "--wait", "--timeout", "soon"));
        assertEquals(Main.EXIT_USAGE, r.code(), r.err());
        assertTrue(r.err().contains("--timeout"), r.err());
    }

    @Test
    void pendingWorkIsSummedOverTheLayersThatAreNotComplete() {
        JobStatus status = JobStatus.newBuilder().setJob("j").setState(JobState.COPYING).setError(null)
                .setUpdatedAt(Instant.EPOCH).setLayers(List.of(
                        // kept from an earlier attempt: complete though this attempt copied nothing
                        new LayerStatus(0, "base.raw", JobState.COMPLETE, 0L, 8L << 20, 0L, 4L, null, false, -1L),
                        new LayerStatus(1, "top.qcow2", JobState.COPYING, 1L << 20, 5L << 20, 1L, 3L, null, false, -1L),
                        new LayerStatus(2, "up.qcow2", JobState.SCANNING, 0L, 0L, 0L, 2L, null, false, -1L)))
                .build();
        assertEquals("pending 4/9 chunks, 4.0 MiB", StatusPrinter.pending(status));
    }
}
