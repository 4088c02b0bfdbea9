package io.chainsync.copier;

import io.chainsync.core.LayerFormat;

import io.chainsync.nbd.NbdClient;
import io.chainsync.core.ClusterKind;
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

    /** The layer a task works on. */
    public record Layer(Path target, long virtualSize, int clusterBits, String backingName, String backingFormat) {

        boolean raw() {
            return LayerFormat.of(target.getFileName().toString()) == LayerFormat.RAW;
        }
    }

    private ChunkTasks() {
    }

    /**
     * Copies one chunk's DATA runs from the source into the layer's temporary file.
     *
     * @return the number of bytes copied
     */
    public static long copyChunk(NbdClient client, DataCopier copier, Layer layer, long chunk, List<ClusterRun> runs,
                                 LongConsumer progress) throws IOException {
        LayerFiles files = new LayerFiles(layer.target());
        Files.createDirectories(files.chunks());
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
        return copied.get();
    }

    /**
     * Writes the layer's metadata from the runs of chunks {@code 0 .. chunkCount-1}, flushes and
     * renames it into place.
     *
     * @throws IOException when a chunk's runs are missing (the layer is not complete)
     */
    public static void finalizeLayer(Layer layer, long chunkCount) throws IOException {
        LayerFiles files = new LayerFiles(layer.target());
        if (!Files.exists(files.temporary()) && Files.exists(layer.target()) && !Files.exists(files.chunks())) {
            return; // finalized before: a redelivered task
        }
        List<ClusterRun> all = new ArrayList<>();
        for (long c = 0; c < chunkCount; c++) {
            Path runsFile = files.chunks().resolve(chunkFileName(c));
            try {
                all.addAll(readRuns(runsFile));
            } catch (NoSuchFileException e) {
                throw new IOException("chunk " + c + " of " + chunkCount + " has not been copied", e);
            }
        }
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
        files.commit();
        deleteTree(files.chunks());
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
