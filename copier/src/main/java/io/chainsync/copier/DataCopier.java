package io.chainsync.copier;

import io.chainsync.nbd.NbdClient;
import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterRun;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Copies the bytes of DATA cluster runs from an NBD export into a {@link DataTarget}.
 *
 * <p>A fixed pool of direct buffers bounds the bytes in flight: each piece of at most one buffer
 * is read over NBD (the client spreads requests over its connections and splits them at the
 * server's maximum) and, once read, written at its host offset by a writer thread; the buffer then
 * returns to the pool. The first failure stops new reads; the copy waits for every read in flight
 * before it reports the failure, so no buffer is written after the call returns. One copier (and
 * its buffers) serves any number of copies, one at a time.
 */
public final class DataCopier {

    private final BlockingQueue<ByteBuffer> pool;
    private final int bufferCount;
    private final int bufferSize;
    private final Executor writers;

    /**
     * @param bufferSize bytes per read request (the client splits it further when the server's maximum is smaller)
     * @param bufferCount buffers in the pool: the number of reads in flight
     * @param writers runs the positional writes
     */
    public DataCopier(int bufferSize, int bufferCount, Executor writers) {
        if (bufferSize < 512 || bufferCount < 1) {
            throw new IllegalArgumentException("need at least one buffer of at least 512 bytes");
        }
        this.bufferSize = bufferSize;
        this.bufferCount = bufferCount;
        this.writers = writers;
        this.pool = new ArrayBlockingQueue<>(bufferCount);
        for (int i = 0; i < bufferCount; i++) {
            pool.add(ByteBuffer.allocateDirect(bufferSize));
        }
    }

    /**
     * Copies every DATA run: guest bytes {@code [firstCluster << clusterBits, ...)}, clipped to
     * {@code virtualSize}, go to {@link DataTarget#hostOffset(ClusterRun)} onwards.
     *
     * @param progress receives the number of bytes of each piece once written
     */
    public void copy(NbdClient client, List<ClusterRun> runs, int clusterBits, long virtualSize, DataTarget sink,
                     LongConsumer progress) throws IOException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try {
            for (ClusterRun run : runs) {
                if (run.kind() != ClusterKind.DATA) {
                    continue;
                }
                long guest = run.firstCluster() << clusterBits;
                long guestEnd = Math.min(run.endCluster() << clusterBits, virtualSize);
                long host = sink.hostOffset(run);
                while (guest < guestEnd && failure.get() == null) {
                    int length = (int) Math.min(bufferSize, guestEnd - guest);
                    submit(client, guest, length, host, sink, progress, failure);
                    guest += length;
                    host += length;
                }
            }
        } finally {
            awaitAll();
        }
        Throwable t = failure.get();
        if (t != null) {
            throw asIOException(t);
        }
    }

    private void submit(NbdClient client, long guest, int length, long host, DataTarget sink, LongConsumer progress,
                        AtomicReference<Throwable> failure) throws InterruptedIOException {
        ByteBuffer buffer = take();
        buffer.clear().limit(length);
        client.read(guest, buffer.duplicate())
                .thenRunAsync(() -> {
                    try {
                        sink.write(host, buffer.duplicate());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    progress.accept(length);
                }, writers)
                .whenComplete((ignored, error) -> {
                    if (error != null) {
                        failure.compareAndSet(null, error);
                    }
                    pool.add(buffer);
                });
    }

    private ByteBuffer take() throws InterruptedIOException {
        try {
            return pool.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while copying");
        }
    }

    /** Waits until every buffer is back in the pool, i.e. no read or write is in flight. */
    private void awaitAll() throws InterruptedIOException {
        ByteBuffer[] back = new ByteBuffer[bufferCount];
        for (int i = 0; i < bufferCount; i++) {
            back[i] = take();
        }
        for (ByteBuffer b : back) {
            pool.add(b);
        }
    }

    static IOException asIOException(Throwable t) {
        while ((t instanceof CompletionException || t instanceof UncheckedIOException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof IOException) {
            return (IOException) t;
        }
        if (t instanceof RuntimeException) {
            throw (RuntimeException) t;
        }
        if (t instanceof Error) {
            throw (Error) t;
        }
        return new IOException(t);
    }
}
