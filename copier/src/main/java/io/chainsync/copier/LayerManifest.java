package io.chainsync.copier;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * {@code NAME.manifest.json}, written beside a finished layer before it is renamed into place:
 * the durable marker that the layer is complete and which job wrote it (docs/design.md §3,
 * "How a layer becomes durable"), and a description a later check can use without the source.
 *
 * @param format the manifest format, {@value #FORMAT}
 * @param layer the layer's file name
 * @param job the job that finished the layer
 * @param virtualSize the layer's virtual size in bytes
 * @param clusterSize the layer's cluster size in bytes
 * @param dataClusters how many clusters hold data
 * @param backing the backing file's name, or null
 * @param finishedAt when the layer was finished
 * @param file the identity (device and inode) of the finished file, recorded before its rename: a
 *             finish interrupted between manifest and rename is told by it from a later temporary
 *             file, also when the layer replaces a file of the same name; null in older manifests
 * @param ownedRanges how many ranges the layer provides itself (its zero and allocated clusters),
 *                    or null: recorded once the layer has been verified against its source
 * @param ownedDigest {@code OwnedRanges.digest()} of those ranges, or null
 * @param contentDigest the {@code BlockDigest} root of the layer's content read alone, or null
 * @param source the source the layer was verified against, or null
 * @param verifiedAt when it was verified, or null
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LayerManifest(String format, String layer, String job, long virtualSize, long clusterSize,
                            long dataClusters, String backing, String finishedAt, String file, Integer ownedRanges,
                            String ownedDigest, String contentDigest, String source, String verifiedAt) {

    /** A manifest without verification. */
    public LayerManifest(String format, String layer, String job, long virtualSize, long clusterSize,
                         long dataClusters, String backing, String finishedAt, String file) {
        this(format, layer, job, virtualSize, clusterSize, dataClusters, backing, finishedAt, file, null, null, null,
                null, null);
    }

    /**
     * The manifest of a layer no job of the pipeline finished (written by {@code copy}): no job.
     */
    public static LayerManifest ofLayer(String layer, long virtualSize, long clusterSize, long dataClusters,
                                        String backing) {
        return new LayerManifest(FORMAT, layer, null, virtualSize, clusterSize, dataClusters, backing,
                Instant.now().toString(), null);
    }

    /** This manifest with the digests of a verification against {@code source}. */
    public LayerManifest verified(Integer ranges, String rangesDigest, String content, String verifiedSource) {
        return new LayerManifest(format, layer, job, virtualSize, clusterSize, dataClusters, backing, finishedAt,
                file, ranges, rangesDigest, content, verifiedSource, Instant.now().toString());
    }

    /** The manifest's file name for layer {@code name}. */
    public static String fileName(String name) {
        return name + SUFFIX;
    }

    /** What every manifest's file name ends with. */
    public static final String SUFFIX = ".manifest.json";

    public static final String FORMAT = "chainsync-layer-manifest/1";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Far more than any manifest needs; a larger file is not read. */
    private static final int MAX_BYTES = 1 << 20;

    static LayerManifest of(ChunkTasks.Layer layer, long dataClusters, String file) {
        return new LayerManifest(FORMAT, layer.target().getFileName().toString(), layer.job(), layer.virtualSize(),
                1L << layer.clusterBits(), dataClusters, layer.backingName(), Instant.now().toString(), file);
    }

    /**
     * The manifest at {@code file}, or null when there is none. A symbolic link there is refused,
     * never followed.
     */
    public static LayerManifest read(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        try (DestDir opened = DestDir.of(dir, FileModes.DEFAULT)) {
            return read(opened, file.getFileName().toString());
        } catch (NoSuchFileException e) {
            return null; // no directory, no manifest
        }
    }

    /** The manifest {@code name} in {@code dir}, or null when there is none; a link there is refused. */
    static LayerManifest read(DestDir dir, String name) throws IOException {
        byte[] bytes = dir.readSmall(name, MAX_BYTES);
        if (bytes == null) {
            return null;
        }
        Path file = dir.resolve(name);
        try {
            LayerManifest m = JSON.readValue(bytes, LayerManifest.class);
            if (!FORMAT.equals(m.format())) {
                throw new IOException(file + " is not a chainsync layer manifest");
            }
            return m;
        } catch (JsonProcessingException e) {
            throw new IOException(file + " is not a readable layer manifest: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Writes the manifest {@code name} in {@code dir} atomically: a new temporary file with the
     * destination's file mode, flushed, renamed, directory flushed.
     */
    void write(DestDir dir, String name) throws IOException {
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
        dir.writeAtomically(name, out -> out.write(bytes));
    }

    /** Writes the manifest beside its layer in {@code dir} (named by the operator) atomically. */
    public void writeIn(Path dir) throws IOException {
        try (DestDir opened = DestDir.of(dir, FileModes.DEFAULT)) {
            write(opened, fileName(layer));
        }
    }
}
