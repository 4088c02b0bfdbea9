package io.chainsync.cli;

import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;

import picocli.CommandLine.ParameterException;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** What a pipeline job is made of: options shared by {@code submit} and {@code sync}. */
final class JobOptions {

    @Option(names = "--layer", required = true, paramLabel = "NAME=NBD_URI", description = "a layer; repeat, bottom first")
    List<String> layers = new ArrayList<>();

    @Option(names = "--cluster-size", paramLabel = "BYTES", converter = Sizes.IntConverter.class,
            description = "force the destination cluster size (bytes, or 64k, 2M ...)")
    Integer clusterSize;

    @Option(names = "--dirty-bitmap", paramLabel = "NAME", description = "incremental: qemu:dirty-bitmap:NAME")
    String dirtyBitmap;

    @Option(names = "--backing", paramLabel = "NAME",
            description = "put the first layer on NAME, an existing layer in the destination (incremental)")
    String backing;

    @Option(names = "--flatten", description = "one layer holding everything the source's whole chain provides")
    boolean flatten;

    @Option(names = "--chunk-size", paramLabel = "BYTES", defaultValue = "" + JobSpec.DEFAULT_CHUNK_SIZE,
            converter = Sizes.LongConverter.class,
            description = "most data bytes per chunk (chunks follow the data), a multiple of 2 MiB, e.g. 64M"
                    + " (default ${DEFAULT-VALUE})")
    long chunkSize;

    @Option(names = "--replace", description = "replace layers that exist in the destination (atomically, once"
            + " complete); never a file another chain there uses as its backing file")
    boolean replace;

    @Option(names = "--verify", description = "verify every layer against its source once finalized (owned ranges"
            + " and content digest, as chainsync verify); the status shows each layer VERIFIED or the first"
            + " differing offset, and a difference fails the job")
    boolean verify;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "86400",
            description = "how long to wait for the job; past it exit 3 (default ${DEFAULT-VALUE})")
    long timeoutSeconds;

    /** The job, checked (a usage error when malformed). */
    JobSpec job(CommandSpec spec, String jobId, String dest) {
        List<LayerSpec> chain = LayerArgs.parse(spec, layers);
        try {
            return JobSpec.of(jobId, chain, dest, clusterSize, dirtyBitmap, chunkSize, backing, flatten)
                    .withReplace(replace).withVerify(verify);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
