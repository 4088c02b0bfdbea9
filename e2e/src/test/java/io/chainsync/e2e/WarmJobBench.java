package io.chainsync.e2e;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.jobs.Jobs;
import io.chainsync.kafka.ClientConfig;
import io.chainsync.nbd.NbdUri;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Measurement, not a test (bench/pipeline.sh runs it): the pipeline's own time for a job on running services,
 * from the job record's send to its final status, as seen by a client that is already up (one that keeps its
 * producer, as an orchestrator submitting jobs to the topic would), each job 3 s after the last one ended.
 * {@code submit --wait} adds its JVM's start and its clients' (about 2 s) to the same job. Prints one line per
 * job, then the median.
 *
 * <p>Usage: {@code WarmJobBench BOOTSTRAP REGISTRY LAYER_NAME NBD_URI DEST_PREFIX RUNS [DEST_ROOT]} (each job's
 * output under the copiers' DEST_ROOT is removed after it), against a running broker,
 * registry, scanner, planner and copier ({@code chainsync stack}, {@code scanner}, {@code planner}, {@code copier}).
 */
public final class WarmJobBench {

    private WarmJobBench() {
    }

    public static void main(String[] args) throws Exception {
        ClientConfig config = new ClientConfig(args[0], args[1]);
        String layer = args[2];
        NbdUri source = NbdUri.parse(args[3]);
        String destPrefix = args[4];
        int runs = Integer.parseInt(args[5]);
        Path root = args.length > 6 ? Path.of(args[6]) : null; // the copiers' destination root: outputs removed
        double[] seconds = new double[runs];
        try (Jobs.Session session = Jobs.Session.open(config, config.topics())) {
            for (int i = 0; i < runs; i++) {
                JobSpec job = JobSpec.of(null, List.of(new LayerSpec(layer, source)), destPrefix + "-" + i, null, null,
                        JobSpec.DEFAULT_CHUNK_SIZE);
                long t0 = System.nanoTime();
                session.submit(job);
                Optional<JobStatus> end = session.await(job.job(), 0, Duration.ofMinutes(10), s -> { });
                seconds[i] = (System.nanoTime() - t0) / 1e9;
                if (end.isEmpty() || end.get().getState() != JobState.COMPLETE) {
                    throw new IllegalStateException("job " + job.job() + " did not complete: " + end);
                }
                System.out.printf("warm-job %d %.3f s%n", i + 1, seconds[i]);
                // the next job once this one's output is removed and the services have settled, as
                // bench/pipeline.sh separates its other runs (the same job's time varied up to twofold between runs)
                Thread.sleep(3000);
                if (root != null) {
                    Trees.delete(root.resolve(job.dest()));
                }
            }
        }
        java.util.Arrays.sort(seconds);
        System.out.printf("warm-job-median %.3f s%n", seconds[runs / 2]);
    }
}
