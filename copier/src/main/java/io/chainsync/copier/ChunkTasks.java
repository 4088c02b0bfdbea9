package io.chainsync.copier;

import io.chainsync.core.LayerFormat;

import io.chainsync.nbd.NbdClient;
import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.ClusterRun;
import io.chainsync.qcow2.Qcow2Writer;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

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
     */
    public record Layer(String job, Path target, long virtualSize, int clusterBits, String backingName,
                        String backingFormat) {

        boolean raw() {
            return LayerFormat.of(target.getFileName().toString()) == LayerFormat.RAW;
        }
    }

    private ChunkTasks() {
    }

    /** A step of {@link #finalizeLayer}, named for crash tests; see {@link #crashPoint}. */
    enum FinalizeStep { METADATA, MANIFEST, RENAME, CLEANUP }

    /** Test hook: called before each finalize step; a test throws from it to simulate a crash there. */
    static volatile java.util.function.Consumer<FinalizeStep> crashPoint = step -> { };

    /**
     * Copies one chunk's DATA runs from the source into the layer's temporary file. A chunk of a
     * layer this job has already finalized changes nothing (a redelivered task).
     *
     * @return the number of bytes copied
     * @throws LayerExistsException when the layer's name is taken by a file this job did not write
     */
    public static long copyChunk(NbdClient client, DataCopier copier, Layer layer, long chunk, List<ClusterRun> runs,
                                 LongConsumer progress) throws IOException {
        LayerFiles files = new LayerFiles(layer.target());
        if (finishedBy(layer)) {
            removeStale(files);
            return 0;
        }
        refuseForeign(layer);
        Files.createDirectories(files.chunks());
        LayerFiles.forceDirectory(files.chunks().getParent());
        AtomicLong copied = new AtomicLong();
        try (FileChannel channel = FileChannel.open(files.temporary(), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
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
        writeRuns(files.chunks().resolve(chunkFileName(chunk)), runs);
        if (finishedBy(layer)) {
            // finalized by another worker while this (redelivered) chunk ran: what it wrote is stale
            removeStale(files);
        }
        return copied.get();
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
     * @throws IOException when a chunk's runs are missing (the layer is not complete)
     */
    public static void finalizeLayer(Layer layer, long chunkCount) throws IOException {
        LayerFiles files = new LayerFiles(layer.target());
        if (finishedBy(layer)) {
            if (Files.exists(files.temporary()) && !Files.exists(layer.target())) {
                rename(files);
            }
            cleanup(files);
            return;
        }
        refuseForeign(layer);
        List<ClusterRun> all = new ArrayList<>();
        for (long c = 0; c < chunkCount; c++) {
            Path runsFile = files.chunks().resolve(chunkFileName(c));
            try {
                all.addAll(readRuns(runsFile));
            } catch (NoSuchFileException e) {
                throw new IOException("chunk " + c + " of " + chunkCount + " has not been copied", e);
            }
        }
        crashPoint.accept(FinalizeStep.METADATA);
        if (layer.raw()) {
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(files.temporary().toFile(), "rw")) {
                file.setLength(layer.virtualSize()); // sparse: holes read as zeroes
                file.getChannel().force(true);
            }
        } else {
            if (!Files.exists(files.temporary())) {
                Files.createFile(files.temporary());
            }
            try (Qcow2Writer writer = Qcow2Writer.reopenForFinish(files.temporary(), layer.virtualSize(),
                    layer.clusterBits(), layer.backingName(), layer.backingFormat())) {
                Qcow2Sink.map(writer, all);
                writer.finish();
            }
        }
        crashPoint.accept(FinalizeStep.MANIFEST);
        LayerManifest.of(layer, ClusterMap.dataClusters(all)).write(files.manifest());
        crashPoint.accept(FinalizeStep.RENAME);
        rename(files);
        crashPoint.accept(FinalizeStep.CLEANUP);
        cleanup(files);
    }

    /** Whether this layer's job has finished it: its manifest names the job and the layer is in place. */
    static boolean finishedBy(Layer layer) throws IOException {
        LayerManifest manifest = LayerManifest.read(new LayerFiles(layer.target()).manifest());
        return manifest != null && layer.job().equals(manifest.job());
    }

    /** A layer name already taken by a file this job did not write is never overwritten. */
    private static void refuseForeign(Layer layer) throws LayerExistsException {
        if (Files.exists(layer.target(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new LayerExistsException("layer " + layer.target().getFileName() + " already exists in "
                    + layer.target().getParent() + "; it is never overwritten");
        }
    }

    private static void rename(LayerFiles files) throws IOException {
        files.commit();
    }

    private static void cleanup(LayerFiles files) throws IOException {
        deleteTree(files.chunks());
        LayerFiles.forceDirectory(files.target().getParent());
    }

    /** After the layer is in place, a temporary file can only be a redelivered chunk's: remove it. */
    private static void removeStale(LayerFiles files) throws IOException {
        if (Files.exists(files.target())) {
            Files.deleteIfExists(files.temporary());
            cleanup(files);
        }
    }

    /**
     * Removes a layer's temporary state (its job failed), never a layer: not one this job
     * finished, not one that was there before.
     */
    public static void discard(String job, Path target) throws IOException {
        LayerFiles files = new LayerFiles(target);
        LayerManifest manifest = LayerManifest.read(files.manifest());
        if (manifest != null && job.equals(manifest.job()) && !Files.exists(target)) {
            return; // finished but for the rename: finalize delivered again completes it
        }
        Files.deleteIfExists(files.temporary());
        cleanup(files);
    }

    static String chunkFileName(long chunk) {
        return String.format("%012d.runs", chunk);
    }

    /** Writes the runs to a file atomically (temporary name, flush, rename). */
    static void writeRuns(Path file, List<ClusterRun> runs) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp);
             DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(os))) {
            out.writeInt(RUNS_MAGIC);
            out.writeInt(runs.size());
            for (ClusterRun run : runs) {
                out.writeLong(run.firstCluster());
                out.writeLong(run.count());
                out.writeByte(run.kind().code());
                out.writeLong(run.firstDataIndex());
            }
        }
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        LayerFiles.forceDirectory(file.getParent());
    }

    static List<ClusterRun> readRuns(Path file) throws IOException {
        try (InputStream is = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(is))) {
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

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
