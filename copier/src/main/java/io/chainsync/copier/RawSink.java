package io.chainsync.copier;

import io.chainsync.planner.ClusterRun;
import io.chainsync.qcow2.RawWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A sparse raw bottom layer: data at its guest offset, zero and unallocated ranges left as holes
 * (nothing lies below a bottom layer, so both read as zeroes).
 */
final class RawSink implements LayerSink {

    private final LayerFiles files;
    private final int clusterBits;
    private final RawWriter writer;
    private boolean committed;

    RawSink(LayerFiles files, long virtualSize, int clusterBits) throws IOException {
        this.files = files;
        this.clusterBits = clusterBits;
        this.writer = RawWriter.create(files.temporary(), virtualSize);
    }

    @Override
    public long hostOffset(ClusterRun run) {
        return run.firstCluster() << clusterBits;
    }

    @Override
    public void write(long hostOffset, ByteBuffer src) throws IOException {
        writer.writeData(hostOffset, src);
    }

    @Override
    public void map(List<ClusterRun> runs) {
        // a raw file has no metadata: holes already read as zeroes
    }

    @Override
    public void commit() throws IOException {
        writer.finish();
        writer.close();
        files.commit();
        committed = true;
    }

    @Override
    public void abort() {
        if (committed) {
            return;
        }
        try {
            writer.abort();
        } catch (IOException ignored) {
            // giving up anyway: the temporary file is removed next
        }
        files.discard();
    }
}
