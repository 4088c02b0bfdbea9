package io.chainsync.cli;

import io.chainsync.avro.SyncJob;
import io.chainsync.services.Jobs;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** What a pipeline job is made of: options shared by {@code submit} and {@code sync}. */
final class JobOptions {

    @Option(names = "--layer", required = true, paramLabel = "NAME=NBD_URI", description = "a layer; repeat, bottom first")
    List<String> layers = new ArrayList<>();

    @Option(names = "--cluster-size", paramLabel = "BYTES", description = "force the destination cluster size")
    Integer clusterSize;

    @Option(names = "--dirty-bitmap", paramLabel = "NAME", description = "incremental: qemu:dirty-bitmap:NAME")
    String dirtyBitmap;

    @Option(names = "--chunk-size", paramLabel = "BYTES", defaultValue = "67108864",
            description = "bytes per chunk, a multiple of 2 MiB (default ${DEFAULT-VALUE})")
    long chunkSize;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "86400",
            description = "how long to wait for the job (default ${DEFAULT-VALUE})")
    long timeoutSeconds;

    /** The job, its layers checked first (a usage error when malformed). */
    SyncJob job(CommandSpec spec, String jobId, String dest) {
        return Jobs.job(jobId, LayerArgs.sources(LayerArgs.parse(spec, layers)), dest, clusterSize, dirtyBitmap,
                chunkSize);
    }
}
