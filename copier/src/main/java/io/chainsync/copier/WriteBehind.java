package io.chainsync.copier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Starts the write-back of a layer's data behind the write front (docs/design.md, "How a layer
 * becomes durable"). Java has no {@code sync_file_range}; instead, every {@code interval} bytes
 * written, a background thread runs {@code fdatasync} ({@link FileChannel#force force(false)}) on
 * the file while the copy goes on. The disk then writes while the source is read, and the flush
 * that must precede the rename finds little left. It changes when bytes reach the disk, never
 * whether: the layer is still flushed in full before it takes its name. A failed background
 * flush fails the copy (an fsync error is reported only once).
 */
final class WriteBehind {

    /** Bytes written between two background flushes. */
    static final long DEFAULT_INTERVAL = 128L << 20;

    private static final ExecutorService FLUSHERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "chainsync-write-behind");
        t.setDaemon(true);
        return t;
    });

    private final FileChannel channel;
    private final long interval;
    private final AtomicLong sinceFlush = new AtomicLong();
    private final AtomicReference<Future<?>> running = new AtomicReference<>();
    private final AtomicReference<IOException> failure = new AtomicReference<>();

    WriteBehind(FileChannel channel, long interval) {
        if (interval <= 0) {
            throw new IllegalArgumentException("interval must be positive");
        }
        this.channel = channel;
        this.interval = interval;
    }

    /**
     * Counts bytes just written; starts a background flush when {@code interval} bytes were written
     * since the last one started and none is running.
     *
     * @throws IOException when an earlier background flush failed
     */
    void written(long bytes) throws IOException {
        IOException failed = failure.get();
        if (failed != null) {
            throw new IOException("flushing " + channel + " in the background failed: " + failed.getMessage(), failed);
        }
        if (sinceFlush.addAndGet(bytes) < interval) {
            return;
        }
        Future<?> previous = running.get();
        if (previous != null && !previous.isDone()) {
            return; // the running flush will be followed by another once more is written
        }
        synchronized (this) {
            if (running.get() != previous) {
                return; // another writer started one
            }
            sinceFlush.set(0);
            running.set(FLUSHERS.submit(this::flush));
        }
    }

    private void flush() {
        try {
            channel.force(false);
        } catch (IOException e) {
            failure.compareAndSet(null, e);
        }
    }

    /**
     * Waits for the running background flush, if any.
     *
     * @throws IOException when a background flush failed
     */
    void await() throws IOException {
        Future<?> f = running.get();
        if (f != null) {
            boolean interrupted = false;
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the flush touches the channel: never return while it runs
                } catch (java.util.concurrent.ExecutionException e) {
                    break; // flush() records its failures itself
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        IOException failed = failure.get();
        if (failed != null) {
            throw new IOException("flushing " + channel + " in the background failed: " + failed.getMessage(), failed);
        }
    }
}
