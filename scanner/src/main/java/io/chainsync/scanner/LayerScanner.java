package io.chainsync.scanner;

import io.chainsync.nbd.NbdClient;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.BlockStatus;
import io.chainsync.nbd.protocol.BlockStatusExtent;
import io.chainsync.core.Extent;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scans the block status of one export over a range in bounded steps (docs/design.md §3, "scanner").
 *
 * <p>The range is cut into slices of at most {@code step} bytes, scanned concurrently (several
 * requests in flight over the client's connections). Within a slice, each request starts where the
 * least-advanced context stopped; every context keeps only what lies beyond its own position, so
 * short replies and contexts that answer different lengths are both handled, and the last extent
 * is trimmed to the slice. Neighbours with equal flags are merged, also across slices.
 */
public final class LayerScanner {

    private static final Logger LOGGER = LoggerFactory.getLogger(LayerScanner.class);

    /** Default bytes per slice and per BLOCK_STATUS request: 1 GiB. */
    public static final long DEFAULT_STEP = 1L << 30;
    /** The protocol's request length is 32 bits: the largest step. */
    public static final long MAX_REQUEST = 0xFFFF_F000L;

    private final NbdClient client;
    private final List<String> contexts;
    private final long step;
    private final int parallel;

    /**
     * @param contexts the contexts to collect; each must have been negotiated on the client
     * @param step the slice and request size in bytes (clipped to what a request can carry)
     * @param parallel how many slices to scan at once
     */
    public LayerScanner(NbdClient client, List<String> contexts, long step, int parallel) {
        for (String context : contexts) {
            if (!client.metaContexts().contains(context)) {
                throw new IllegalArgumentException("context " + context + " was not negotiated with the server");
            }
        }
        if (step < 512 || parallel < 1) {
            throw new IllegalArgumentException("step must be at least 512 and parallel at least 1");
        }
        this.client = client;
        this.contexts = List.copyOf(contexts);
        this.step = Math.min(step, MAX_REQUEST);
        this.parallel = parallel;
    }

    public LayerScanner(NbdClient client, List<String> contexts) {
        this(client, contexts, DEFAULT_STEP, 4);
    }

    /** Scans the whole export. */
    public LayerScan scan() throws IOException {
        return scan(0, client.size());
    }

    /** Scans {@code [start, end)}. */
    public LayerScan scan(long start, long end) throws IOException {
        if (start < 0 || end < start || end > client.size()) {
            throw new IllegalArgumentException("range [" + start + ", " + end + ") is outside the export of "
                    + client.size() + " bytes");
        }
        List<long[]> slices = new ArrayList<>();
        for (long s = start; s < end; s += Math.min(step, end - s)) {
            slices.add(new long[] {s, Math.min(end, s + step)});
        }
        List<ExtentAccumulator[]> results = new ArrayList<>();
        for (int first = 0; first < slices.size(); first += parallel) {
            List<CompletableFuture<ExtentAccumulator[]>> wave = new ArrayList<>();
            for (int i = first; i < Math.min(slices.size(), first + parallel); i++) {
                long[] slice = slices.get(i);
                wave.add(scanSlice(slice[0], slice[1]));
            }
            for (CompletableFuture<ExtentAccumulator[]> f : wave) {
                results.add(join(f));
            }
        }
        Map<String, List<Extent>> extents = new LinkedHashMap<>();
        for (int c = 0; c < contexts.size(); c++) {
            ExtentAccumulator all = new ExtentAccumulator(start, end);
            for (ExtentAccumulator[] slice : results) {
                all.appendAll(slice[c].extents());
            }
            extents.put(contexts.get(c), all.extents());
        }
        LOGGER.atDebug().setMessage("scanned layer range")
                .addKeyValue("start", start).addKeyValue("end", end)
                .addKeyValue("extents", () -> extents.values().stream().mapToInt(List::size).sum()).log();
        return new LayerScan(client.size(), client.metaContexts(), start, end, extents);
    }

    /** Scans one slice as a chain of requests, each issued when the previous reply is taken. */
    private CompletableFuture<ExtentAccumulator[]> scanSlice(long sliceStart, long sliceEnd) {
        ExtentAccumulator[] acc = new ExtentAccumulator[contexts.size()];
        for (int c = 0; c < acc.length; c++) {
            acc[c] = new ExtentAccumulator(sliceStart, sliceEnd);
        }
        return next(acc, sliceEnd);
    }

    private CompletableFuture<ExtentAccumulator[]> next(ExtentAccumulator[] acc, long sliceEnd) {
        long from = Long.MAX_VALUE;
        for (ExtentAccumulator a : acc) {
            if (!a.complete()) {
                from = Math.min(from, a.position());
            }
        }
        if (from == Long.MAX_VALUE) {
            return CompletableFuture.completedFuture(acc);
        }
        long offset = from;
        long length = Math.min(sliceEnd - offset, step);
        return client.blockStatus(offset, length, false).thenCompose(reply -> {
            try {
                take(acc, offset, reply);
            } catch (NbdProtocolException e) {
                return CompletableFuture.failedFuture(e);
            }
            return next(acc, sliceEnd);
        });
    }

    /** Adds one reply's extents to the contexts' accumulators; a reply that adds nothing is an error. */
    private void take(ExtentAccumulator[] acc, long offset, BlockStatus reply) throws NbdProtocolException {
        long progress = 0;
        for (int c = 0; c < acc.length; c++) {
            List<BlockStatusExtent> list = reply.extents(contexts.get(c));
            if (list == null || list.isEmpty()) {
                if (acc[c].position() == offset) {
                    throw new NbdProtocolException("block status reply at offset " + offset + " has no extents for "
                            + contexts.get(c));
                }
                continue;
            }
            long[] lengths = new long[list.size()];
            int[] flags = new int[list.size()];
            for (int i = 0; i < lengths.length; i++) {
                lengths[i] = list.get(i).length();
                flags[i] = list.get(i).flags();
            }
            progress += acc[c].add(offset, lengths, flags, lengths.length);
        }
        if (progress == 0) {
            throw new NbdProtocolException("block status reply at offset " + offset + " made no progress");
        }
    }

    /** Receives the extents of a streamed scan: context index (in the scanner's order) and extent. */
    @FunctionalInterface
    public interface ExtentSink {
        void accept(int context, Extent extent);
    }

    /**
     * A scan of {@code [start, end)} that hands each context's extents on as the replies arrive, in
     * guest order, instead of collecting them: one request at a time, each starting where the
     * least-advanced context stopped. Memory is bounded by one reply, whatever the export's size.
     */
    public Stream stream(long start, long end) {
        if (start < 0 || end < start || end > client.size()) {
            throw new IllegalArgumentException("range [" + start + ", " + end + ") is outside the export of "
                    + client.size() + " bytes");
        }
        return new Stream(start, end);
    }

    /** See {@link #stream(long, long)}. */
    public final class Stream {
        private final ExtentAccumulator[] acc;
        private final long end;

        private Stream(long start, long end) {
            this.end = end;
            this.acc = new ExtentAccumulator[contexts.size()];
            for (int c = 0; c < acc.length; c++) {
                acc[c] = new ExtentAccumulator(start, end);
            }
        }

        /**
         * Sends one request and hands on the new extents of every context.
         *
         * @return false when every context already covered the range (nothing was sent)
         */
        public boolean step(ExtentSink sink) throws IOException {
            long from = Long.MAX_VALUE;
            for (ExtentAccumulator a : acc) {
                if (!a.complete()) {
                    from = Math.min(from, a.position());
                }
            }
            if (from == Long.MAX_VALUE) {
                return false;
            }
            BlockStatus reply = join(client.blockStatus(from, Math.min(end - from, step), false));
            take(acc, from, reply);
            for (int c = 0; c < acc.length; c++) {
                for (Extent e : acc[c].drain()) {
                    sink.accept(c, e);
                }
            }
            return true;
        }

        /** Runs the whole scan. */
        public void run(ExtentSink sink) throws IOException {
            while (step(sink)) {
                // every step hands its extents on
            }
        }
    }

    private static <T> T join(CompletableFuture<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while scanning");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException) {
                throw (IOException) cause;
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new IOException(cause);
        }
    }
}
