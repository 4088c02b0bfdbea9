package io.chainsync.copier;

import io.chainsync.core.LayerFormat;

import io.chainsync.nbd.NbdClient;
import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.ClusterRun;
import io.chainsync.qcow2.Qcow2Writer;
import io.chainsync.qcow2.RawWriter;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The two tasks of a distributed layer copy, run by any worker that shares the destination file
 * system (docs/design.md §3, "Scale-out"):
 * <ul>
 *   <li>{@link #copyChunk}: writes one chunk's DATA clusters at their fixed host offsets into the
 *       layer's temporary file, flushes, then records the chunk's runs beside it. Idempotent:
 *       a redelivered chunk writes the same bytes to the same places.</li>
 *   <li>{@link #finalizeLayer}: once every chunk is recorded, writes the metadata from the
 *       recorded runs, flushes and renames the layer into place. Idempotent too: a finished layer
 *       is left as it is.</li>
 * </ul>
 */
public final class ChunkTasks {

    private static final int RUNS_MAGIC = 0x43535231; // "CSR1"

    /**
     * The layer a task works on.
     *
     * @param job the job the layer belongs to: a layer finished by this job is recognised by its
     *            {@link LayerManifest}, so that any task delivered again changes nothing
     * @param replace whether the job replaces a layer of the same name that exists (see
     *                {@link ExistingLayers})
     * @param jobLayers the names of every layer of the job
     */
    public record Layer(String job, Path target, long virtualSize, int clusterBits, String backingName,
                        String backingFormat, boolean replace, List<String> jobLayers) {

        public Layer {
            jobLayers = jobLayers == null || jobLayers.isEmpty() ? List.of(target.getFileName().toString())
                    : List.copyOf(jobLayers);
        }

        /** A layer of a job that replaces nothing, the job's other layers unknown. */
        public Layer(String job, Path target, long virtualSize, int clusterBits, String backingName,
                     String backingFormat) {
            this(job, target, virtualSize, clusterBits, backingName, backingFormat, false, List.of());
        }

        boolean raw() {
            return LayerFormat.of(name()) == LayerFormat.RAW;
        }

        /** The layer's file name. */
        String name() {
            return target.getFileName().toString();
        }
    }

    private ChunkTasks() {
    }

    /** A step of {@link #finalizeLayer}, named for crash tests; see {@link #crashPoint}. */
    enum FinalizeStep { METADATA, MANIFEST, RENAME, CLEANUP }

    /** Test hook: called before each finalize step; a test throws from it to simulate a crash there. */
    static volatile java.util.function.Consumer<FinalizeStep> crashPoint = step -> { };

    /**
     * Copies one chunk's DATA runs from the source into the layer's temporary file, in the
     * directory of {@code layer.target()} taken as named (see {@link #copyChunk(DestDir, NbdClient,
     * DataCopier, Layer, long, List, LongConsumer)}).
     */
    public static long copyChunk(NbdClient client, DataCopier copier, Layer layer, long chunk, List<ClusterRun> runs,
                                 LongConsumer progress) throws IOException {
        try (DestDir dir = DestDir.of(layer.target().getParent(), FileModes.DEFAULT)) {
            return copyChunk(dir, client, copier, layer, chunk, runs, progress);
        }
    }

    /**
     * Copies one chunk's DATA runs from the source into the layer's temporary file. A chunk of a
     * layer this job has already finalized changes nothing (a redelivered task).
     *
     * @param dir the layer's destination directory ({@link Destinations#open}); of
     *            {@code layer.target()} only the file name is used
     * @return the number of bytes copied
     * @throws LayerExistsException when the layer's name is taken by a file this job did not write
     * @throws ConfinementException when a file of the layer is a symbolic link (or not a regular file)
     */
    public static long copyChunk(DestDir dir, NbdClient client, DataCopier copier, Layer layer, long chunk,
                                 List<ClusterRun> runs, LongConsumer progress) throws IOException {
        LayerFiles files = new LayerFiles(dir, layer.name());
        LayerManifest own = ownManifest(files, layer);
        if (own != null) {
            removeStale(files, own);
            return 0;
        }
        refuseForeign(files, layer);
        AtomicLong copied = new AtomicLong();
        try (DestDir chunks = dir.directory(files.chunks(), true, files.chunks() + " in " + dir)) {
            dir.force();
            try (FileChannel channel = files.openTemporary()) {
                DataTarget target = new DataTarget() {
                    @Override
                    public long hostOffset(ClusterRun run) {
                        return DataTarget.hostOffset(layer.raw(), layer.clusterBits(), run);
                    }

                    @Override
                    public void write(long hostOffset, ByteBuffer src) throws IOException {
                        long pos = hostOffset;
                        while (src.hasRemaining()) {
                            pos += channel.write(src, pos);
                        }
                    }
                };
                copier.copy(client, runs, layer.clusterBits(), layer.virtualSize(), target, n -> {
                    copied.addAndGet(n);
                    progress.accept(n);
                });
                channel.force(true);
            }
            writeRuns(chunks, chunkFileName(chunk), runs);
        }
        own = ownManifest(files, layer);
        if (own != null) {
            // finalized by another worker while this (redelivered) chunk ran: what it wrote is stale
            removeStale(files, own);
        }
        return copied.get();
    }

    /**
     * Finalizes the layer in the directory of {@code layer.target()} taken as named (see
     * {@link #finalizeLayer(DestDir, Layer, long)}).
     */
    public static void finalizeLayer(Layer layer, long chunkCount) throws IOException {
        try (DestDir dir = DestDir.of(layer.target().getParent(), FileModes.DEFAULT)) {
            finalizeLayer(dir, layer, chunkCount);
        }
    }

    /**
     * Writes the layer's metadata from the runs of chunks {@code 0 .. chunkCount-1} and puts the
     * layer in place, crash-safe at every step (docs/design.md §3, "How a layer becomes durable"):
     * <ol>
     *   <li>METADATA: L1/L2/refcounts and header written into {@code .NAME.partial}, flushed
     *       (the data layout is fixed, so doing it again writes the same bytes);</li>
     *   <li>MANIFEST: {@code NAME.manifest.json} naming the job written atomically and flushed
     *       with its directory: the durable marker that the layer is finished;</li>
     *   <li>RENAME: {@code .NAME.partial} → {@code NAME}, directory flushed;</li>
     *   <li>CLEANUP: the chunk runs removed, directory flushed.</li>
     * </ol>
     * Run again after a crash at any point, or delivered again after it finished, it completes
     * the remaining steps and changes nothing else.
     *
     * @param dir the layer's destination directory ({@link Destinations#open}); of
     *            {@code layer.target()} only the file name is used
     * @throws IOException when a chunk's runs are missing (the layer is not complete)
     */
    public static void finalizeLayer(DestDir dir, Layer layer, long chunkCount) throws IOException {
        LayerFiles files = new LayerFiles(dir, layer.name());
        LayerManifest own = ownManifest(files, layer);
        if (own != null) {
            if (renamePending(files, own)) {
                files.commit();
            }
            cleanup(files);
            return;
        }
        refuseForeign(files, layer);
        if (layer.replace()) {
            // the moment of replacing: nothing may have come to use the layer as its backing file
            ExistingLayers.checkLayer(dir, layer.job(), layer.name(), layer.jobLayers(), true);
        }
        List<ClusterRun> all = new ArrayList<>();
        try (DestDir chunks = dir.directory(files.chunks(), false, files.chunks() + " in " + dir)) {
            for (long c = 0; c < chunkCount; c++) {
                try {
                    all.addAll(readRuns(chunks, chunkFileName(c)));
                } catch (NoSuchFileException e) {
                    throw notCopied(c, chunkCount, e);
                }
            }
        } catch (NoSuchFileException e) {
            if (chunkCount > 0) {
                throw notCopied(0, chunkCount, e); // no chunk has been recorded at all
            }
        }
        crashPoint.accept(FinalizeStep.METADATA);
        if (layer.raw()) {
            try (FileChannel channel = files.openTemporary()) {
                RawWriter.extend(channel, layer.virtualSize()); // sparse: holes read as zeroes
                channel.force(true);
            }
        } else {
            try (Qcow2Writer writer = Qcow2Writer.reopenForFinish(files.openTemporary(), files.temporaryPath(),
                    layer.virtualSize(), layer.clusterBits(), layer.backingName(), layer.backingFormat())) {
                Qcow2Sink.map(writer, all);
                writer.finish();
            }
        }
        crashPoint.accept(FinalizeStep.MANIFEST);
        LayerManifest.of(layer, ClusterMap.dataClusters(all), fileKey(dir, files.temporary()))
                .write(dir, files.manifest());
        crashPoint.accept(FinalizeStep.RENAME);
        files.commit();
        crashPoint.accept(FinalizeStep.CLEANUP);
        cleanup(files);
    }

    private static IOException notCopied(long chunk, long chunkCount, IOException cause) {
        return new IOException("chunk " + chunk + " of " + chunkCount + " has not been copied", cause);
    }

    /** The layer's manifest if this layer's job has finished it (the manifest names the job), else null. */
    private static LayerManifest ownManifest(LayerFiles files, Layer layer) throws IOException {
        LayerManifest manifest = LayerManifest.read(files.dir(), files.manifest());
        return manifest != null && layer.job().equals(manifest.job()) ? manifest : null;
    }

    /**
     * Whether a layer its job has finished (its manifest) still waits for its rename: its temporary
     * file is the very file the manifest records. A temporary file created after the rename (a
     * chunk delivered again) is another file; the layer it would replace may be a file the job is
     * replacing, so the presence of {@code NAME} proves nothing. A manifest that records no file
     * (written before it did) counts a temporary file without a layer as pending.
     */
    private static boolean renamePending(LayerFiles files, LayerManifest manifest) throws IOException {
        String temporary = fileKey(files.dir(), files.temporary());
        if (temporary == null) {
            return false;
        }
        return manifest.file() == null ? !files.dir().exists(files.name()) : manifest.file().equals(temporary);
    }

    /** The identity (device and inode) of {@code name} in {@code dir}, or null when it does not exist. */
    private static String fileKey(DestDir dir, String name) throws IOException {
        java.nio.file.attribute.BasicFileAttributes attributes = dir.attributes(name);
        return attributes == null || attributes.fileKey() == null ? null : attributes.fileKey().toString();
    }

    /**
     * A layer name already taken by a file this job did not write is never overwritten unless the
     * job replaces layers, and a symbolic link there is refused (docs/design.md §3, "Confinement").
     * Whether another chain uses the file is checked before anything is written (the job's first
     * task, see {@link ExistingLayers}) and again just before it is replaced.
     */
    private static void refuseForeign(LayerFiles files, Layer layer) throws IOException {
        if (files.dir().isSymbolicLink(files.name())) {
            throw new ConfinementException("layer " + files.name() + " in " + files.dir()
                    + " is a symbolic link; it is never followed or overwritten");
        }
        if (!layer.replace() && files.dir().exists(files.name())) {
            throw new LayerExistsException(files.name(), "already exists in " + files.dir()
                    + "; it is never overwritten (use --replace to replace it)");
        }
    }

    /**
     * Removes the chunk runs, and temporary manifests a crash left, then flushes the directory.
     */
    private static void cleanup(LayerFiles files) throws IOException {
        DestDir dir = files.dir();
        dir.deleteTree(files.chunks());
        for (String entry : dir.list()) {
            if (DestDir.isTemporaryOf(entry, files.manifest())) {
                dir.delete(entry);
            }
        }
        dir.force();
    }

    /** After the layer is in place, a temporary file can only be a redelivered chunk's: remove it. */
    private static void removeStale(LayerFiles files, LayerManifest own) throws IOException {
        if (files.dir().exists(files.name()) && !renamePending(files, own)) {
            files.dir().delete(files.temporary());
            cleanup(files);
        }
    }

    /**
     * Removes a layer's temporary state (its job failed), never a layer: not one this job
     * finished, not one that was there before. The directory of {@code target} is taken as named.
     */
    public static void discard(String job, Path target) throws IOException {
        try (DestDir dir = DestDir.of(target.getParent(), FileModes.DEFAULT)) {
            discard(dir, job, target.getFileName().toString());
        }
    }

    /** As {@link #discard(String, Path)}, for layer {@code name} in {@code dir}. */
    public static void discard(DestDir dir, String job, String name) throws IOException {
        LayerFiles files = new LayerFiles(dir, name);
        LayerManifest manifest = LayerManifest.read(dir, files.manifest());
        if (manifest != null && job.equals(manifest.job()) && renamePending(files, manifest)) {
            return; // finished but for the rename: finalize delivered again completes it
        }
        dir.delete(files.temporary());
        cleanup(files);
    }

    static String chunkFileName(long chunk) {
        return String.format("%012d.runs", chunk);
    }

    /** Writes the runs to {@code file} atomically, its directory taken as named. */
    static void writeRuns(Path file, List<ClusterRun> runs) throws IOException {
        try (DestDir dir = DestDir.of(file.toAbsolutePath().getParent(), FileModes.DEFAULT)) {
            writeRuns(dir, file.getFileName().toString(), runs);
        }
    }

    /** Writes the runs to {@code name} in {@code dir} atomically (new temporary file, flush, rename). */
    static void writeRuns(DestDir dir, String name, List<ClusterRun> runs) throws IOException {
        dir.writeAtomically(name, os -> {
            DataOutputStream out = new DataOutputStream(os);
            out.writeInt(RUNS_MAGIC);
            out.writeInt(runs.size());
            for (ClusterRun run : runs) {
                out.writeLong(run.firstCluster());
                out.writeLong(run.count());
                out.writeByte(run.kind().code());
                out.writeLong(run.firstDataIndex());
            }
            out.flush();
        });
    }

    /** Reads the runs of {@code file}, its directory taken as named. */
    static List<ClusterRun> readRuns(Path file) throws IOException {
        try (DestDir dir = DestDir.of(file.toAbsolutePath().getParent(), FileModes.DEFAULT)) {
            return readRuns(dir, file.getFileName().toString());
        }
    }

    /** Reads the runs of {@code name} in {@code dir}; a link there is refused. */
    static List<ClusterRun> readRuns(DestDir dir, String name) throws IOException {
        Path file = dir.resolve(name);
        InputStream is = dir.read(name);
        if (is == null) {
            throw new NoSuchFileException(file.toString());
        }
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(is))) {
            if (in.readInt() != RUNS_MAGIC) {
                throw new IOException("not a chunk runs file: " + file);
            }
            int n = in.readInt();
            if (n < 0) {
                throw new IOException("corrupt chunk runs file: " + file);
            }
            List<ClusterRun> runs = new ArrayList<>(Math.min(n, 1 << 16));
            for (int i = 0; i < n; i++) {
                long first = in.readLong();
                long count = in.readLong();
                int kind = in.readByte();
                long dataIndex = in.readLong();
                try {
                    runs.add(new ClusterRun(first, count, ClusterKind.ofCode(kind), dataIndex));
                } catch (IllegalArgumentException e) {
                    throw new IOException("corrupt chunk runs file: " + file + ": " + e.getMessage(), e);
                }
            }
            return runs;
        }
    }
}
