package io.chainsync.copier;

import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterRun;
import io.chainsync.qcow2.Qcow2Writer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A qcow2 v3 layer written by the native writer; data clusters at their fixed host offsets. */
final class Qcow2Sink extends TemporaryFileSink {

    private final int clusterBits;
    private final Qcow2Writer writer;
    private final WriteBehind writeBehind;

    Qcow2Sink(LayerFiles files, long virtualSize, int clusterBits, String backingFile, String backingFormat)
            throws IOException {
        super(files);
        this.clusterBits = clusterBits;
        this.writer = Qcow2Writer.create(files.createTemporary(), files.temporaryPath(), virtualSize, clusterBits,
                backingFile, backingFormat);
        this.writeBehind = new WriteBehind(writer.channel(), WriteBehind.DEFAULT_INTERVAL);
    }

    @Override
    public long hostOffset(ClusterRun run) {
        return DataTarget.hostOffset(false, clusterBits, run);
    }

    @Override
    public void write(long hostOffset, ByteBuffer src) throws IOException {
        int n = src.remaining();
        writer.writeData(hostOffset, src);
        writeBehind.written(n);
    }

    @Override
    public void reserveDataClusters(long count) {
        writer.reserveDataClusters(count);
    }

    @Override
    public void map(List<ClusterRun> runs) throws IOException {
        for (ClusterRun run : runs) {
            map(writer, run);
        }
    }

    /**
     * Records a DATA or ZERO run in the writer's L2 tables (unallocated runs need no entry); runs
     * come in guest order.
     */
    static void map(Qcow2Writer writer, ClusterRun run) throws IOException {
        if (run.kind() == ClusterKind.DATA) {
            writer.mapData(run.firstCluster(), run.count(), run.firstDataIndex());
        } else if (run.kind() == ClusterKind.ZERO) {
            writer.mapZero(run.firstCluster(), run.count());
        }
    }

    @Override
    protected void finishWriter() throws IOException {
        writeBehind.await();
        writer.finish();
        writer.close();
    }

    @Override
    protected void abortWriter() throws IOException {
        try {
            writeBehind.await();
        } catch (IOException ignored) {
            // giving up anyway
        }
        writer.abort();
    }
}
