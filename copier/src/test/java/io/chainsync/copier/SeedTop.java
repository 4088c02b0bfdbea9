package io.chainsync.copier;

import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterRun;
import io.chainsync.nbd.NbdClient;
import io.chainsync.nbd.NbdUri;
import io.chainsync.testkit.Chain;
import io.chainsync.testkit.ChainBuilder;
import io.chainsync.testkit.QemuNbdServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The source of the copier's task ITs: the seed top layer {@code -D0-} over {@code ABC-}, served
 * by qemu-nbd. Cluster 1 is DATA, cluster 2 a zero cluster (the trap), clusters 0 and 3 fall
 * through; its runs are split over two chunks.
 */
final class SeedTop implements AutoCloseable {

    static final int BITS = 16;
    static final String NAME = "top.qcow2";
    static final long SIZE = 4L << BITS;
    static final List<ClusterRun> CHUNK0 = List.of(new ClusterRun(0, 1, ClusterKind.UNALLOCATED, -1),
            new ClusterRun(1, 1, ClusterKind.DATA, 0));
    static final List<ClusterRun> CHUNK1 = List.of(new ClusterRun(2, 1, ClusterKind.ZERO, -1),
            new ClusterRun(3, 1, ClusterKind.UNALLOCATED, -1));

    final Chain source;
    private final QemuNbdServer server;
    private final ExecutorService writers = Executors.newFixedThreadPool(2);

    /** Builds the seed chain under {@code dir} and serves its top layer. */
    SeedTop(Path dir) {
        source = ChainBuilder.seed(dir.resolve("src"), false);
        server = QemuNbdServer.serveLayer(source.top(), dir);
    }

    /** The top layer as job {@code job} writes it to {@code target}. */
    ChunkTasks.Layer layer(String job, Path target) {
        return new ChunkTasks.Layer(job, target, SIZE, BITS, source.bottom().name(), "qcow2");
    }

    /** One COPY task into the directory of {@code layer.target()}, as named. */
    long copy(ChunkTasks.Layer layer, long chunk, List<ClusterRun> runs) throws IOException {
        try (NbdClient client = connect()) {
            return ChunkTasks.copyChunk(client, new DataCopier(1 << 20, 2, writers), layer, chunk, runs, n -> { });
        }
    }

    /** One COPY task into {@code dir}. */
    long copy(DestDir dir, ChunkTasks.Layer layer, long chunk, List<ClusterRun> runs) throws IOException {
        try (NbdClient client = connect()) {
            return ChunkTasks.copyChunk(dir, client, new DataCopier(1 << 20, 2, writers), layer, chunk, runs,
                    n -> { });
        }
    }

    private NbdClient connect() throws IOException {
        return NbdClient.connect(NbdUri.parse(server.uri()), NbdClient.Options.defaults());
    }

    @Override
    public void close() {
        server.close();
        writers.shutdownNow();
    }
}
