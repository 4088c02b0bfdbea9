package io.chainsync.nbd;

import io.chainsync.nbd.protocol.BlockStatusExtent;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.NbdRequestException;
import io.chainsync.nbd.protocol.ReadCoverage;
import io.chainsync.nbd.protocol.RequestHeader;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * An outstanding request: its header, its future and what its reply has delivered so far. Touched
 * by the sending thread until it is published in the connection's map, then only by the reader thread.
 */
abstract class PendingRequest<T> {

    final CompletableFuture<T> future = new CompletableFuture<>();
    /** Set before the request is published; the decoder checks replies against it. */
    RequestHeader header;
    /** Whether this request holds a permit of the connection's in-flight bound. */
    boolean permitted;
    /** Fails the connection if the request is still outstanding when it fires; set once the request is published. */
    volatile ScheduledFuture<?> deadline;
    private NbdRequestException error;

    /** Records an error reply; the first one wins. */
    final void error(int errno, String message) {
        if (error == null) {
            error = new NbdRequestException(header.describe(), errno, message);
        }
    }

    /** Completes the future at the end of the reply. */
    final void finish() throws NbdProtocolException {
        if (error != null) {
            future.completeExceptionally(error);
            return;
        }
        future.complete(result());
    }

    final boolean failed() {
        return error != null;
    }

    /** The successful result; may throw if the reply was incomplete. */
    abstract T result() throws NbdProtocolException;

    /** Requests without a result (write, flush, trim, write zeroes). */
    static final class Command extends PendingRequest<Void> {
        @Override
        Void result() {
            return null;
        }
    }

    /** A READ into a private view of the caller's buffer; position 0 of {@code dst} is the request offset. */
    static final class Read extends PendingRequest<Void> {
        final ByteBuffer dst;
        final ReadCoverage coverage;

        Read(ByteBuffer dst, long offset) {
            this.dst = dst;
            this.coverage = new ReadCoverage(offset, dst.capacity());
        }

        /** The view {@code [offset, offset+length)} of the destination, positioned for a channel read. */
        ByteBuffer window(long offset, int length) {
            int start = (int) (offset - header.offset());
            dst.limit(start + length).position(start);
            return dst;
        }

        @Override
        Void result() throws NbdProtocolException {
            if (!coverage.complete()) {
                throw new NbdProtocolException("reply to " + header.describe() + " covered only "
                        + coverage.coveredBytes() + " bytes");
            }
            return null;
        }
    }

    /** A BLOCK_STATUS: one chunk per negotiated context is expected. */
    static final class Status extends PendingRequest<BlockStatus> {
        private final Map<String, List<BlockStatusExtent>> extents = new LinkedHashMap<>();
        private final int expectedContexts;

        Status(int expectedContexts) {
            this.expectedContexts = expectedContexts;
        }

        void add(String context, List<BlockStatusExtent> list) throws NbdProtocolException {
            if (extents.putIfAbsent(context, list) != null) {
                throw new NbdProtocolException("two block status chunks for context " + context + " in the reply to "
                        + header.describe());
            }
        }

        @Override
        BlockStatus result() throws NbdProtocolException {
            if (extents.size() != expectedContexts) {
                throw new NbdProtocolException("reply to " + header.describe() + " has block status for "
                        + extents.keySet() + " only, expected " + expectedContexts + " contexts");
            }
            return new BlockStatus(header.offset(), extents);
        }
    }
}
