package io.chainsync.copier;

import io.chainsync.nbd.ConnectionState;
import io.chainsync.nbd.NbdClient;
import io.chainsync.core.ClusterKind;
import io.chainsync.core.ClusterRun;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Copies the bytes of DATA cluster runs from an NBD export into a {@link DataTarget}.
 *
 * <p>A fixed pool of direct buffers bounds the bytes in flight: each piece of at most one buffer
 * is read over NBD (the client spreads requests over its connections and splits them at the
 * server's maximum) and, once read, written at its host offset by a writer thread; the buffer then
 * returns to the pool. One copier (and its buffers) serves any number of copies: they submit
 * their pieces one copy after another, a copy starting once every piece of the one before is in
 * flight and taking buffers as that one's pieces return them. Threads sharing a copier therefore
 * keep its reads going across their copies and overlap everything around them (a copier
 * service's next chunk is read while the last one is flushed), and a copy returns once its own
 * pieces are written.
 *
 * <p>Failures: every buffer returns to the pool on every path (the read throws at once, e.g. on a
 * failed or closed client; the read fails later, e.g. connection lost or request deadline; the write or
 * the progress callback fails; the writer executor rejects the write; the copying thread is
 * interrupted). The first failure is recorded and stops the copy: no further piece is submitted and
 * pieces read afterwards are not written. The copy then waits for the pieces still in flight (each is
 * bounded by the client's request deadline) so that no buffer is written after the call returns, and
 * throws the first failure. An interruption is reported as an {@link InterruptedIOException}, with the
 * thread's interrupt status set again.
 */
public final class DataCopier {

    private final io.micrometer.core.instrument.Timer readTimer = io.chainsync.kafka.ServiceMetrics.nbdTimer("read");
    private final io.micrometer.core.instrument.Counter readErrors = io.chainsync.kafka.ServiceMetrics.nbdErrors("read");
    private final io.micrometer.core.instrument.Counter bytesRead = io.chainsync.kafka.ServiceMetrics.bytesRead();
    private final io.micrometer.core.instrument.Counter bytesWritten = io.chainsync.kafka.ServiceMetrics.bytesWritten();
    private final BlockingQueue<ByteBuffer> pool;
    private final int bufferCount;
    private final int bufferSize;
    private final Executor writers;
    /**
     * Held by the copy submitting its pieces (fair: copies submit in the order they came); the
     * next copy starts once every piece of this one is in flight.
     */
    private final java.util.concurrent.locks.ReentrantLock submitting = new java.util.concurrent.locks.ReentrantLock(true);

    /**
     * @param bufferSize bytes per read request (the client splits it further when the server's maximum is smaller)
     * @param bufferCount buffers in the pool: the number of reads in flight
     * @param writers runs the positional writes; it must run every task it accepts (a task it drops
     *     without running keeps its buffer)
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

    /** Buffers in the pool right now; all of them ({@link #bufferCount()}) between copies. */
    public int availableBuffers() {
        return pool.size();
    }

    /** Buffers the copier owns. */
    public int bufferCount() {
        return bufferCount;
    }

    /**
     * Copies every DATA run: guest bytes {@code [firstCluster << clusterBits, ...)}, clipped to
     * {@code virtualSize}, go to {@link DataTarget#hostOffset(ClusterRun)} onwards. The runs are
     * taken one at a time as reads are submitted, so they may be produced while the copy runs
     * (a streamed scan); an unchecked exception from the iteration stops the copy like any failure.
     *
     * @param progress receives the number of bytes of each piece once written
     * @throws IOException the first failure (an NBD failure such as
     *     {@link io.chainsync.nbd.protocol.NbdConnectionLostException} or
     *     {@link io.chainsync.nbd.protocol.NbdTimeoutException}, a write failure, or
     *     {@link InterruptedIOException}); a client that had failed before is reported by its failure;
     *     unchecked failures (e.g. the {@link IllegalStateException} of a closed client) are rethrown as
     *     they are
     */
    public void copy(NbdClient client, Iterable<ClusterRun> runs, int clusterBits, long virtualSize, DataTarget sink,
                     LongConsumer progress) throws IOException {
        try {
            submitting.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to copy from " + client.uri());
        }
        Copy copy = new Copy(sink, progress);
        boolean interrupted = false;
        try {
            copying:
            for (ClusterRun run : runs) {
                if (run.kind() != ClusterKind.DATA) {
                    continue;
                }
                long guest = run.firstCluster() << clusterBits;
                long guestEnd = Math.min(run.endCluster() << clusterBits, virtualSize);
                long host = sink.hostOffset(run);
                while (guest < guestEnd) {
                    ByteBuffer buffer;
                    try {
                        buffer = pool.take(); // a failing piece records its failure before it returns its buffer
                    } catch (InterruptedException e) {
                        interrupted = true;
                        copy.fail(new InterruptedIOException("interrupted while copying from " + client.uri()));
                        break copying;
                    }
                    if (copy.failed()) {
                        pool.add(buffer);
                        break copying;
                    }
                    int length = (int) Math.min(bufferSize, guestEnd - guest);
                    submit(client, new Piece(buffer, guest, length, host), copy);
                    guest += length;
                    host += length;
                }
            }
        } catch (RuntimeException | Error e) {
            copy.fail(e);
        } finally {
            submitting.unlock(); // the next copy takes buffers as this one's pieces return them
            interrupted |= copy.awaitPieces();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        Throwable t = copy.failure();
        if (t != null) {
            throw asIOException(t);
        }
    }

    /** One buffer's worth of a DATA run; its buffer goes back to the pool exactly once. */
    private final class Piece {
        final ByteBuffer buffer;
        final long guest;
        final int length;
        final long host;
        private final AtomicBoolean returned = new AtomicBoolean();

        Piece(ByteBuffer buffer, long guest, int length, long host) {
            this.buffer = buffer;
            this.guest = guest;
            this.length = length;
            this.host = host;
        }

        /** Records the failure, if any, first, then returns the buffer. */
        void finish(Copy copy, Throwable failure) {
            if (failure != null) {
                copy.fail(failure);
            }
            if (returned.compareAndSet(false, true)) {
                pool.add(buffer);
                copy.pieceDone();
            }
        }
    }

    /** One call of {@link #copy}: where the bytes go and its first failure. */
    private static final class Copy {
        final DataTarget sink;
        final LongConsumer progress;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Copy(DataTarget sink, LongConsumer progress) {
            this.sink = sink;
            this.progress = progress;
        }

        /** Pieces submitted whose buffers have not come back. */
        private int pending;

        void fail(Throwable t) {
            failure.compareAndSet(null, t);
        }

        synchronized void pieceSubmitted() {
            pending++;
        }

        synchronized void pieceDone() {
            if (--pending == 0) {
                notifyAll();
            }
        }

        /**
         * Waits until every piece of this copy is back, i.e. none of its reads or writes is in flight.
         * Not interruptible: returning earlier would let a late read or write touch a buffer or the
         * target after the copy returned; each read is bounded by the client's request deadline.
         *
         * @return whether the thread was interrupted while waiting
         */
        synchronized boolean awaitPieces() {
            boolean interrupted = false;
            while (pending > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return interrupted;
        }

        boolean failed() {
            return failure.get() != null;
        }

        Throwable failure() {
            return failure.get();
        }
    }

    private void submit(NbdClient client, Piece piece, Copy copy) {
        copy.pieceSubmitted(); // every path below finishes the piece once
        CompletableFuture<Void> read;
        long started = System.nanoTime();
        try {
            piece.buffer.clear().limit(piece.length);
            read = client.read(piece.guest, piece.buffer.duplicate());
        } catch (RuntimeException | Error e) {
            // Nothing was sent. A client that failed refuses at once: report why it failed.
            piece.finish(copy, client.state() instanceof ConnectionState.Failed failed ? failed.cause() : e);
            return;
        }
        read.whenComplete((ignored, error) -> {
            readTimer.record(System.nanoTime() - started, java.util.concurrent.TimeUnit.NANOSECONDS);
            if (error != null) {
                readErrors.increment();
            } else {
                bytesRead.increment(piece.length);
            }
            if (error != null || copy.failed()) {
                piece.finish(copy, error);
                return;
            }
            try {
                writers.execute(() -> write(piece, copy));
            } catch (RuntimeException | Error e) {
                piece.finish(copy, e); // rejected: the write never runs
            }
        });
    }

    private void write(Piece piece, Copy copy) {
        Throwable failure = null;
        try {
            if (!copy.failed()) {
                copy.sink.write(piece.host, piece.buffer.duplicate());
                bytesWritten.increment(piece.length);
                copy.progress.accept(piece.length);
            }
        } catch (Throwable e) {
            failure = e;
        } finally {
            piece.finish(copy, failure);
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
