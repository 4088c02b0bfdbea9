package io.chainsync.copier;

import io.chainsync.core.ClusterRun;
import io.chainsync.qcow2.RawWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A sparse raw bottom layer: data at its guest offset, zero and unallocated ranges left as holes
 * (nothing lies below a bottom layer, so both read as zeroes).
 */
final class RawSink extends TemporaryFileSink {

    private final int clusterBits;
    private final RawWriter writer;
    private final WriteBehind writeBehind;

    RawSink(LayerFiles files, long virtualSize, int clusterBits) throws IOException {
        super(files);
        this.clusterBits = clusterBits;
        this.writer = RawWriter.create(files.createTemporary(), files.temporaryPath(), virtualSize);
        this.writeBehind = new WriteBehind(writer.channel(), WriteBehind.DEFAULT_INTERVAL);
    }

    @Override
    public long hostOffset(ClusterRun run) {
        return DataTarget.hostOffset(true, clusterBits, run);
    }

    @Override
    public void write(long hostOffset, ByteBuffer src) throws IOException {
        int n = src.remaining();
        writer.writeData(hostOffset, src);
        writeBehind.written(n);
    }

    @Override
    public void map(List<ClusterRun> runs) {
        // a raw file has no metadata: holes already read as zeroes
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
