package io.chainsync.scanner;

import io.chainsync.avro.LayerSource;
import io.chainsync.avro.SyncJob;
import io.chainsync.core.ClusterSizes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;

/**
 * A job, checked: the one definition of what a valid job is, used by the CLI before it submits,
 * by the job client for any other producer's sake, and by the scanner for every record it reads
 * from {@code chainsync.jobs} (a producer may not be chainsync at all).
 *
 * @param job the job id
 * @param layers the chain, bottom first
 * @param dest the destination directory, relative to the copiers' destination root
 * @param clusterBits a forced destination cluster size (log2), or empty to choose per layer
 * @param dirtyBitmap incremental mode: the bitmap naming changed ranges, or null
 * @param chunkSize bytes per chunk of the scanner's grid, a positive multiple of 2 MiB
 * @param replace whether layers that already exist in the destination are replaced (never one that
 *                another chain there uses as its backing file); otherwise the job is refused
 */
public record JobSpec(String job, List<LayerSpec> layers, String dest, OptionalInt clusterBits, String dirtyBitmap,
                      long chunkSize, boolean replace) {

    /** The grid's unit: chunks are whole multiples of the largest cluster. */
    public static final long CHUNK_UNIT = 1L << ClusterSizes.MAX_BITS;
    /** Default grid: 64 MiB chunks. */
    public static final long DEFAULT_CHUNK_SIZE = 64L << 20;

    public JobSpec {
        if (job == null || job.isBlank()) {
            throw new IllegalArgumentException("the job id must not be empty");
        }
        layers = List.copyOf(layers);
        validateChain(layers);
        validateDest(dest);
        if (clusterBits == null) {
            clusterBits = OptionalInt.empty();
        }
        if (clusterBits.isPresent() && !ClusterSizes.valid(clusterBits.getAsInt())) {
            throw new IllegalArgumentException("cluster_bits " + clusterBits.getAsInt() + " is outside "
                    + ClusterSizes.MIN_BITS + ".." + ClusterSizes.MAX_BITS);
        }
        if (dirtyBitmap != null && dirtyBitmap.isEmpty()) {
            throw new IllegalArgumentException("dirty bitmap name must not be empty");
        }
        if (chunkSize < CHUNK_UNIT || chunkSize % CHUNK_UNIT != 0) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " is not a positive multiple of 2 MiB");
        }
    }

    /** A new job with a fresh id when {@code job} is null. */
    public static JobSpec of(String job, List<LayerSpec> layers, String dest, Integer clusterSize, String dirtyBitmap,
                             long chunkSize) {
        return new JobSpec(job == null ? UUID.randomUUID().toString() : job, layers, dest,
                clusterSize == null ? OptionalInt.empty() : OptionalInt.of(ClusterSizes.bitsOf(clusterSize)),
                dirtyBitmap, chunkSize, false);
    }

    /** This job, replacing existing layers or not. */
    public JobSpec withReplace(boolean replaceExisting) {
        return new JobSpec(job, layers, dest, clusterBits, dirtyBitmap, chunkSize, replaceExisting);
    }

    /**
     * The job a {@code chainsync.jobs} record describes.
     *
     * @throws IllegalArgumentException naming what is wrong with it
     */
    public static JobSpec of(SyncJob record) {
        List<LayerSpec> layers = new ArrayList<>();
        for (LayerSource source : record.getLayers()) {
            layers.add(LayerSpec.of(source.getName(), source.getUri()));
        }
        return of(record.getJob(), layers, record.getDest(), record.getClusterSize(), record.getDirtyBitmap(),
                record.getChunkSize()).withReplace(record.getReplace());
    }

    /** The record to produce to {@code chainsync.jobs}. */
    public SyncJob toRecord(Instant submittedAt) {
        List<LayerSource> sources = new ArrayList<>();
        for (LayerSpec layer : layers) {
            sources.add(new LayerSource(layer.name(), layer.source().toString()));
        }
        return SyncJob.newBuilder().setJob(job).setLayers(sources).setDest(dest)
                .setClusterSize(clusterBits.isPresent() ? 1 << clusterBits.getAsInt() : null)
                .setDirtyBitmap(dirtyBitmap).setChunkSize(chunkSize).setSubmittedAt(submittedAt).setReplace(replace)
                .build();
    }

    /**
     * The rules of a chain: at least one layer, names distinct, only the bottom layer raw (a raw
     * file has no backing file).
     */
    public static void validateChain(List<LayerSpec> layers) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("at least one layer is needed");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < layers.size(); i++) {
            LayerSpec layer = layers.get(i);
            if (!names.add(layer.name())) {
                throw new IllegalArgumentException("layer " + layer.name() + " is listed twice");
            }
            if (i > 0 && !layer.format().canHaveBacking()) {
                throw new IllegalArgumentException("layer " + layer.name()
                        + ": only the bottom layer can be raw (a raw file cannot have a backing file)");
            }
        }
    }

    /**
     * A destination is a relative directory path that stays below the destination root by its
     * text alone ({@code a/b}, not {@code ../x} or {@code /abs}). Where it really lands (symlinks)
     * is checked again by the copier against the root it writes to.
     */
    public static void validateDest(String dest) {
        if (dest == null || dest.isEmpty() || dest.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("destination must be a directory path: '" + dest + "'");
        }
        int depth = 0;
        for (String part : dest.split("/+")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            depth += part.equals("..") ? -1 : 1;
            if (depth < 0) {
                throw new IllegalArgumentException("destination " + dest + " lies outside the destination root");
            }
        }
    }
}
