package io.chainsync.jobs;

import io.chainsync.core.ClusterSizes;
import io.chainsync.kafka.Backoff;
import io.chainsync.nbd.NbdClient;
import java.util.OptionalInt;

/**
 * How a chain is copied.
 *
 * @param clusterBits an explicit destination cluster size (log2), or empty to choose per layer
 * @param connections NBD connections per source (used when the server allows multi-conn)
 * @param requestSize bytes per read request
 * @param buffers reads in flight per layer
 * @param writerThreads threads writing destination files
 * @param dirtyBitmap incremental mode: the bitmap naming changed ranges, or null
 * @param retry how often, and how far apart, a layer is copied again after a transient failure
 * @param backing an existing layer in the destination the first layer is put on, or null
 * @param flatten one layer holding everything the source's whole chain provides (FLATTEN)
 * @param replace whether layers that exist in the destination are replaced (never one that another
 *                chain there uses as its backing file); otherwise the copy is refused
 */
public record CopyOptions(OptionalInt clusterBits, int connections, int requestSize, int buffers, int writerThreads,
                          String dirtyBitmap, Backoff retry, String backing, boolean flatten, boolean replace) {

    /** Options without a backing layer, flatten or replace. */
    public CopyOptions(OptionalInt clusterBits, int connections, int requestSize, int buffers, int writerThreads,
                       String dirtyBitmap, Backoff retry) {
        this(clusterBits, connections, requestSize, buffers, writerThreads, dirtyBitmap, retry, null, false, false);
    }

    public CopyOptions {
        if (clusterBits == null) {
            clusterBits = OptionalInt.empty();
        }
        if (connections < 1 || connections > 16) {
            throw new IllegalArgumentException("connections must be 1..16: " + connections);
        }
        if (requestSize < 4096 || Integer.bitCount(requestSize) != 1 || requestSize > (32 << 20)) {
            throw new IllegalArgumentException("request size must be a power of two, 4 KiB .. 32 MiB: " + requestSize);
        }
        if (retry == null) {
            retry = Backoff.TASKS;
        }
        if (buffers < 1 || writerThreads < 1) {
            throw new IllegalArgumentException("buffers and writer threads must be positive");
        }
    }

    /**
     * 4 connections, {@link NbdClient#QUEUE_DEPTH} (16) reads of 256 KiB in flight (4 MiB of direct
     * buffers), 2 writer threads. Smaller requests keep qemu-nbd busier than few large ones: on the
     * 1 GiB benchmark layer the data phase took 2.8–3.6 s instead of 9–11 s with 32 × 2 MiB; and 16
     * outstanding serve it better than 64, which only oversubscribe its worker threads
     * (docs/benchmarks.md).
     */
    public static CopyOptions defaults() {
        return new CopyOptions(OptionalInt.empty(), 4, 256 << 10, NbdClient.QUEUE_DEPTH, 2, null, Backoff.TASKS);
    }

    /** With a cluster size in bytes: a power of two from 512 B to 2 MiB. */
    public CopyOptions withClusterSize(long bytes) {
        return new CopyOptions(OptionalInt.of(ClusterSizes.bitsOf(bytes)), connections, requestSize, buffers,
                writerThreads, dirtyBitmap, retry, backing, flatten, replace);
    }

    public CopyOptions withRetry(Backoff backoff) {
        return new CopyOptions(clusterBits, connections, requestSize, buffers, writerThreads, dirtyBitmap, backoff,
                backing, flatten, replace);
    }

    public CopyOptions withDirtyBitmap(String bitmap) {
        return new CopyOptions(clusterBits, connections, requestSize, buffers, writerThreads, bitmap, retry, backing,
                flatten, replace);
    }

    /** With the first layer put on the existing layer {@code name} of the destination. */
    public CopyOptions withBacking(String name) {
        return new CopyOptions(clusterBits, connections, requestSize, buffers, writerThreads, dirtyBitmap, retry, name,
                flatten, replace);
    }

    /** With FLATTEN: the one layer holds everything its source's whole chain provides. */
    public CopyOptions withFlatten(boolean on) {
        return new CopyOptions(clusterBits, connections, requestSize, buffers, writerThreads, dirtyBitmap, retry,
                backing, on, replace);
    }

    public CopyOptions withReplace(boolean replaceExisting) {
        return new CopyOptions(clusterBits, connections, requestSize, buffers, writerThreads, dirtyBitmap, retry,
                backing, flatten, replaceExisting);
    }
}
