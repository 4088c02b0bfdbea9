package io.chainsync.scanner;

import io.chainsync.avro.LayerSource;
import io.chainsync.avro.SyncJob;
import io.chainsync.core.ClusterSizes;
import io.chainsync.core.LayerNames;
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
 * @param backing an existing layer in the destination that the first layer gets as its backing
 *                file (an incremental on top of an earlier backup), or null
 * @param flatten one layer holding everything its source's whole chain provides (FLATTEN mode)
 * @param replace whether layers that already exist in the destination are replaced (never one that
 *                another chain there uses as its backing file); otherwise the job is refused
 * @param verify whether every layer, once finalized, is verified against its source before it
 *               counts as complete (docs/design.md §4, "Verification in the pipeline")
 */
public record JobSpec(String job, List<LayerSpec> layers, String dest, OptionalInt clusterBits, String dirtyBitmap,
                      long chunkSize, String backing, boolean flatten, boolean replace, boolean verify) {

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
        validateBase(layers, backing, flatten, dirtyBitmap);
    }

    /** A job without {@code backing}, {@code flatten} or {@code replace}. */
    public JobSpec(String job, List<LayerSpec> layers, String dest, OptionalInt clusterBits, String dirtyBitmap,
                   long chunkSize) {
        this(job, layers, dest, clusterBits, dirtyBitmap, chunkSize, null, false, false, false);
    }

    /** A new job with a fresh id when {@code job} is null. */
    public static JobSpec of(String job, List<LayerSpec> layers, String dest, Integer clusterSize, String dirtyBitmap,
                             long chunkSize) {
        return of(job, layers, dest, clusterSize, dirtyBitmap, chunkSize, null, false);
    }

    /** As {@link #of(String, List, String, Integer, String, long)} with a backing layer and flatten. */
    public static JobSpec of(String job, List<LayerSpec> layers, String dest, Integer clusterSize, String dirtyBitmap,
                             long chunkSize, String backing, boolean flatten) {
        return new JobSpec(job == null ? UUID.randomUUID().toString() : job, layers, dest,
                clusterSize == null ? OptionalInt.empty() : OptionalInt.of(ClusterSizes.bitsOf(clusterSize)),
                dirtyBitmap, chunkSize, backing, flatten, false, false);
    }

    /** This job, replacing existing layers or not. */
    public JobSpec withReplace(boolean replaceExisting) {
        return new JobSpec(job, layers, dest, clusterBits, dirtyBitmap, chunkSize, backing, flatten, replaceExisting,
                verify);
    }

    /** This job, with its layers verified against their sources once finalized or not. */
    public JobSpec withVerify(boolean verifyLayers) {
        return new JobSpec(job, layers, dest, clusterBits, dirtyBitmap, chunkSize, backing, flatten, replace,
                verifyLayers);
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
                record.getChunkSize(), record.getBacking(), record.getFlatten()).withReplace(record.getReplace())
                .withVerify(record.getVerify());
    }

    /** The record to produce to {@code chainsync.jobs}. */
    public SyncJob toRecord(Instant submittedAt) {
        List<LayerSource> sources = new ArrayList<>();
        for (LayerSpec layer : layers) {
            sources.add(new LayerSource(layer.name(), layer.source().toString()));
        }
        return SyncJob.newBuilder().setJob(job).setLayers(sources).setDest(dest)
                .setClusterSize(clusterBits.isPresent() ? 1 << clusterBits.getAsInt() : null)
                .setDirtyBitmap(dirtyBitmap).setChunkSize(chunkSize).setSubmittedAt(submittedAt)
                .setBacking(backing).setFlatten(flatten).setReplace(replace).setVerify(verify)
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
     * The rules of what lies below the first layer. {@code backing}: a plain layer name, not one of
     * the job's own layers, under a first layer that can have a backing file (qcow2); whether it
     * exists, and its size, is checked where the destination is (docs/design.md §3, "Backing
     * layers"). {@code flatten}: one layer with nothing below it, not incremental.
     */
    public static void validateBase(List<LayerSpec> layers, String backing, boolean flatten, String dirtyBitmap) {
        if (backing != null) {
            LayerNames.validate(backing);
            for (LayerSpec layer : layers) {
                if (layer.name().equals(backing)) {
                    throw new IllegalArgumentException("backing " + backing + " is one of the job's own layers");
                }
            }
            if (!layers.get(0).format().canHaveBacking()) {
                throw new IllegalArgumentException("layer " + layers.get(0).name()
                        + " cannot have backing " + backing + " (a raw file cannot have a backing file)");
            }
        }
        if (flatten) {
            if (layers.size() != 1) {
                throw new IllegalArgumentException("flatten makes one layer; the job lists " + layers.size());
            }
            if (backing != null) {
                throw new IllegalArgumentException("flatten makes a layer with nothing below it; it cannot have"
                        + " backing " + backing);
            }
            if (dirtyBitmap != null) {
                throw new IllegalArgumentException("flatten copies the whole disk; it cannot be incremental"
                        + " (dirty bitmap " + dirtyBitmap + ")");
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
