package io.chainsync.jobs;

import io.chainsync.core.ClusterSizes;
import io.chainsync.kafka.Backoff;
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
 */
public record CopyOptions(OptionalInt clusterBits, int connections, int requestSize, int buffers, int writerThreads,
                          String dirtyBitmap, Backoff retry) {

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
     * 4 connections, 64 reads of 256 KiB in flight (16 MiB of direct buffers), 2 writer threads.
     * Many smaller requests keep qemu-nbd busier than few large ones: on the 1 GiB benchmark layer
     * the data phase took 2.8–3.6 s instead of 9–11 s with 32 × 2 MiB (docs/benchmarks.md).
     */
    public static CopyOptions defaults() {
        return new CopyOptions(OptionalInt.empty(), 4, 256 << 10, 64, 2, null, Backoff.TASKS);
    }

    /** With a cluster size in bytes: a power of two from 512 B to 2 MiB. */
    public CopyOptions withClusterSize(long bytes) {
        return new CopyOptions(OptionalInt.of(ClusterSizes.bitsOf(bytes)), connections, requestSize, buffers,
                writerThreads, dirtyBitmap, retry);
    }

    public CopyOptions withRetry(Backoff backoff) {
        return new CopyOptions(clusterBits, connections, requestSize, buffers, writerThreads, dirtyBitmap, backoff);
    }

    public CopyOptions withDirtyBitmap(String bitmap) {
        return new CopyOptions(clusterBits, connections, requestSize, buffers, writerThreads, bitmap, retry);
    }
}
