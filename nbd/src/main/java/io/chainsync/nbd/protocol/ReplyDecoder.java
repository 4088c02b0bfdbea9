package io.chainsync.nbd.protocol;

import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_BLOCK_STATUS;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_FLAG_REQ_ONE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_READ;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_BLOCK_STATUS;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_NONE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE;
import static io.chainsync.nbd.protocol.NbdConstants.SIMPLE_REPLY_HEADER_SIZE;
import static io.chainsync.nbd.protocol.NbdConstants.STRUCTURED_REPLY_HEADER_SIZE;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Incremental decoder of the server's transmission-phase byte stream; pure, no I/O.
 *
 * <p>{@link #decode(ByteBuffer)} looks at the bytes between the buffer's position and limit. If they
 * hold a whole reply (simple reply, or one structured chunk) it consumes exactly that reply and returns
 * it; if more bytes are needed it returns {@code null} without consuming anything, and
 * {@link #bytesNeeded()} tells how many bytes (counted from the position) are needed at least. Several
 * replies in one buffer are decoded by calling it repeatedly.
 *
 * <p>Every server-controlled length is checked against a cap before waiting for the bytes, and the
 * reply is checked against its request (looked up by cookie): unknown cookie, chunk type invalid for
 * the command, data or hole outside the request, unnegotiated context id, zero-length or too many
 * extents, block status lengths that break the spec's rules. Any violation throws
 * {@link NbdProtocolException} and the decoder stays failed: every later call throws again.
 *
 * <p>{@link DataMode#STREAM} lets the caller move bulk data itself (straight from a socket into the
 * destination buffer): for {@code NBD_REPLY_TYPE_OFFSET_DATA} and for a simple read reply the decoder
 * consumes only the header (and the 8-byte offset) and returns the reply with {@code data == null};
 * the caller must then take exactly {@code dataLength} bytes from the stream and call
 * {@link #dataConsumed()} before decoding the next reply.
 */
public final class ReplyDecoder {

    /** Whether bulk read data is returned in the reply or left in the stream for the caller. */
    public enum DataMode {
        INLINE,
        STREAM
    }

    /** The outstanding requests, by cookie. */
    @FunctionalInterface
    public interface Requests {
        /** The request with this cookie, or {@code null} if none is outstanding. */
        RequestHeader lookup(long cookie);
    }

    /**
     * Caps on server-controlled sizes.
     *
     * @param maxPayload largest data payload accepted in one chunk or simple read reply
     * @param maxExtents largest number of descriptors accepted in one block status chunk
     */
    public record Limits(int maxPayload, int maxExtents) {
        public Limits {
            if (maxPayload <= 0 || maxPayload > Integer.MAX_VALUE - 64) {
                throw new IllegalArgumentException("maxPayload out of range: " + maxPayload);
            }
            if (maxExtents <= 0 || maxExtents > (Integer.MAX_VALUE - 64) / BlockStatusExtent.SIZE) {
                throw new IllegalArgumentException("maxExtents out of range: " + maxExtents);
            }
        }

        /** 32 MiB payloads, 2^20 extents per chunk (the spec's advice). */
        public static Limits defaults() {
            return new Limits(NbdConstants.DEFAULT_MAX_PAYLOAD, NbdConstants.MAX_EXTENTS_PER_CHUNK);
        }
    }

    /** Largest error chunk: fixed fields plus the spec's string limit (a little slack for trailing bytes). */
    private static final int MAX_ERROR_CHUNK = 14 + NbdConstants.NBD_MAX_STRING + 64;

    private final boolean structuredReplies;
    private final Requests requests;
    private final IntFunction<String> contexts;
    private final Limits limits;
    private final DataMode mode;

    private int bytesNeeded = SIMPLE_REPLY_HEADER_SIZE;
    private boolean awaitingData;
    private NbdProtocolException failure;

    /**
     * @param structuredReplies whether structured replies were negotiated
     * @param requests lookup of outstanding requests
     * @param contexts negotiated metadata context name by id, {@code null} for an unknown id
     * @param limits caps on server-controlled sizes
     * @param mode where bulk read data goes
     */
    public ReplyDecoder(boolean structuredReplies, Requests requests, IntFunction<String> contexts, Limits limits,
            DataMode mode) {
        this.structuredReplies = structuredReplies;
        this.requests = requests;
        this.contexts = contexts;
        this.limits = limits;
        this.mode = mode;
    }

    /** Minimum number of bytes, from the buffer position, needed before the next call can progress. */
    public int bytesNeeded() {
        return bytesNeeded;
    }

    /** True once a protocol error was detected. */
    public boolean failed() {
        return failure != null;
    }

    /** In {@link DataMode#STREAM}: the caller has taken the data of the last reply from the stream. */
    public void dataConsumed() {
        if (!awaitingData) {
            throw new IllegalStateException("no reply data is pending");
        }
        awaitingData = false;
    }

    /**
     * Decodes the next reply.
     *
     * @return the reply, or {@code null} if the buffer does not yet hold enough bytes (nothing consumed)
     * @throws NbdProtocolException on malformed input; the decoder then stays failed
     */
    public Reply decode(ByteBuffer in) throws NbdProtocolException {
        if (failure != null) {
            throw new NbdProtocolException("reply decoder failed earlier: " + failure.getMessage(), failure);
        }
        if (awaitingData) {
            throw new IllegalStateException("the data of the previous reply has not been consumed");
        }
        try {
            return decodeOrNull(in);
        } catch (NbdProtocolException e) {
            failure = e;
            throw e;
        } catch (RuntimeException e) {
            failure = new NbdProtocolException("malformed reply: " + e, e);
            throw failure;
        }
    }

    private Reply decodeOrNull(ByteBuffer in) throws NbdProtocolException {
        int pos = in.position();
        int available = in.remaining();
        if (available < 4) {
            return needMore(SIMPLE_REPLY_HEADER_SIZE);
        }
        int magic = in.getInt(pos);
        if (magic == NbdConstants.NBD_SIMPLE_REPLY_MAGIC) {
            return decodeSimple(in, pos, available);
        }
        if (magic == NbdConstants.NBD_STRUCTURED_REPLY_MAGIC) {
            if (!structuredReplies) {
                throw new NbdProtocolException("structured reply chunk although structured replies were not negotiated");
            }
            return decodeStructured(in, pos, available);
        }
        throw new NbdProtocolException("bad reply magic " + Wire.hex(Wire.uint32(magic)));
    }

    private Reply needMore(int total) {
        bytesNeeded = total;
        return null;
    }

    private RequestHeader request(long cookie, String what) throws NbdProtocolException {
        RequestHeader request = requests.lookup(cookie);
        if (request == null) {
            throw new NbdProtocolException(what + " for unknown cookie " + Wire.hex(cookie));
        }
        return request;
    }

    private Reply decodeSimple(ByteBuffer in, int pos, int available) throws NbdProtocolException {
        if (available < SIMPLE_REPLY_HEADER_SIZE) {
            return needMore(SIMPLE_REPLY_HEADER_SIZE);
        }
        int error = in.getInt(pos + 4);
        long cookie = in.getLong(pos + 8);
        RequestHeader request = request(cookie, "simple reply");
        if (request.type() != NBD_CMD_READ || error != 0) {
            in.position(pos + SIMPLE_REPLY_HEADER_SIZE);
            bytesNeeded = SIMPLE_REPLY_HEADER_SIZE;
            return new Reply.Simple(cookie, error, 0, null);
        }
        if (structuredReplies) {
            throw new NbdProtocolException("successful simple reply to " + request.describe()
                    + " although structured replies were negotiated");
        }
        if (request.length() > limits.maxPayload()) {
            throw new NbdProtocolException("simple reply data of " + request.length() + " bytes for "
                    + request.describe() + " exceeds the limit of " + limits.maxPayload());
        }
        int dataLength = (int) request.length();
        if (mode == DataMode.STREAM) {
            in.position(pos + SIMPLE_REPLY_HEADER_SIZE);
            awaitingData = true;
            bytesNeeded = SIMPLE_REPLY_HEADER_SIZE;
            return new Reply.Simple(cookie, 0, dataLength, null);
        }
        int total = SIMPLE_REPLY_HEADER_SIZE + dataLength;
        if (available < total) {
            return needMore(total);
        }
        ByteBuffer data = in.slice(pos + SIMPLE_REPLY_HEADER_SIZE, dataLength);
        in.position(pos + total);
        bytesNeeded = SIMPLE_REPLY_HEADER_SIZE;
        return new Reply.Simple(cookie, 0, dataLength, data);
    }

    private Reply decodeStructured(ByteBuffer in, int pos, int available) throws NbdProtocolException {
        if (available < STRUCTURED_REPLY_HEADER_SIZE) {
            return needMore(STRUCTURED_REPLY_HEADER_SIZE);
        }
        StructuredReplyHeader header = StructuredReplyHeader.decode(in.duplicate().position(pos));
        String typeName = NbdConstants.replyTypeName(header.type());
        RequestHeader request = request(header.cookie(), typeName + " chunk");
        checkTypeAndCap(header, request, typeName);

        if (mode == DataMode.STREAM && header.type() == NBD_REPLY_TYPE_OFFSET_DATA) {
            int prefix = STRUCTURED_REPLY_HEADER_SIZE + 8;
            if (available < prefix) {
                return needMore(prefix);
            }
            long offset = in.getLong(pos + STRUCTURED_REPLY_HEADER_SIZE);
            int dataLength = (int) (header.length() - 8);
            checkRange(request, offset, dataLength, typeName);
            in.position(pos + prefix);
            awaitingData = true;
            bytesNeeded = SIMPLE_REPLY_HEADER_SIZE;
            return new Reply.OffsetData(header.cookie(), header.flags(), offset, dataLength, null);
        }

        int total = STRUCTURED_REPLY_HEADER_SIZE + (int) header.length();
        if (available < total) {
            return needMore(total);
        }
        ByteBuffer payload = in.slice(pos + STRUCTURED_REPLY_HEADER_SIZE, (int) header.length());
        Reply reply = Reply.decodeChunk(header, payload, limits.maxExtents());
        reply = checkAgainstRequest(reply, request, typeName);
        in.position(pos + total);
        bytesNeeded = SIMPLE_REPLY_HEADER_SIZE;
        return reply;
    }

    /** Checks the chunk type is valid for the command and its length is under the cap, before reading it. */
    private void checkTypeAndCap(StructuredReplyHeader header, RequestHeader request, String typeName)
            throws NbdProtocolException {
        long cap;
        switch (header.type()) {
            case NBD_REPLY_TYPE_NONE:
                cap = 0;
                break;
            case NBD_REPLY_TYPE_OFFSET_DATA:
                requireCommand(request, NBD_CMD_READ, typeName);
                if (header.length() < 9) {
                    throw new NbdProtocolException(typeName + " with length " + header.length()
                            + " (must be at least 9)");
                }
                cap = 8L + limits.maxPayload();
                break;
            case NBD_REPLY_TYPE_OFFSET_HOLE:
                requireCommand(request, NBD_CMD_READ, typeName);
                cap = 12;
                break;
            case NBD_REPLY_TYPE_BLOCK_STATUS:
                requireCommand(request, NBD_CMD_BLOCK_STATUS, typeName);
                cap = 4L + (long) BlockStatusExtent.SIZE * limits.maxExtents();
                break;
            default:
                if (!header.isError()) {
                    throw new NbdProtocolException("unknown structured reply chunk type " + header.type()
                            + " for " + request.describe());
                }
                cap = MAX_ERROR_CHUNK;
        }
        if (header.length() > cap) {
            throw new NbdProtocolException(typeName + " chunk length " + header.length() + " for "
                    + request.describe() + " exceeds the limit of " + cap);
        }
    }

    private static void requireCommand(RequestHeader request, int command, String typeName)
            throws NbdProtocolException {
        if (request.type() != command) {
            throw new NbdProtocolException(typeName + " chunk is not valid as a reply to " + request.describe());
        }
    }

    private static void checkRange(RequestHeader request, long offset, long length, String typeName)
            throws NbdProtocolException {
        // offset is unsigned on the wire: a negative long is beyond 2^63, hence out of range.
        long start = request.offset();
        if (offset < start || length > request.length() || offset - start > request.length() - length) {
            throw new NbdProtocolException(typeName + " [" + Long.toUnsignedString(offset) + ", +" + length
                    + ") lies outside the request " + request.describe());
        }
    }

    private Reply checkAgainstRequest(Reply reply, RequestHeader request, String typeName)
            throws NbdProtocolException {
        if (reply instanceof Reply.OffsetData data) {
            checkRange(request, data.offset(), data.dataLength(), typeName);
        } else if (reply instanceof Reply.OffsetHole hole) {
            checkRange(request, hole.offset(), hole.holeSize(), typeName);
        } else if (reply instanceof Reply.Error error && error.hasOffset()) {
            checkRange(request, error.offset(), 0, typeName);
            if (error.offset() == request.offset() + request.length() && request.length() > 0) {
                throw new NbdProtocolException(typeName + " offset " + error.offset()
                        + " lies outside the request " + request.describe());
            }
        } else if (reply instanceof Reply.BlockStatus status) {
            return checkBlockStatus(status, request, typeName);
        }
        return reply;
    }

    private Reply checkBlockStatus(Reply.BlockStatus status, RequestHeader request, String typeName)
            throws NbdProtocolException {
        if (contexts.apply(status.contextId()) == null) {
            throw new NbdProtocolException(typeName + " for metadata context id " + status.contextId()
                    + " which was not negotiated");
        }
        List<BlockStatusExtent> extents = status.extents();
        if (request.hasFlag(NBD_CMD_FLAG_REQ_ONE)) {
            if (extents.size() != 1) {
                throw new NbdProtocolException(typeName + " with " + extents.size()
                        + " extents for a request with NBD_CMD_FLAG_REQ_ONE");
            }
            if (extents.get(0).length() > request.length()) {
                throw new NbdProtocolException(typeName + " extent of " + extents.get(0).length()
                        + " bytes exceeds the NBD_CMD_FLAG_REQ_ONE request " + request.describe());
            }
            return status;
        }
        long sum = 0;
        for (int i = 0; i < extents.size() - 1; i++) {
            sum += extents.get(i).length();
            if (sum >= request.length()) {
                throw new NbdProtocolException(typeName + " extents before the last one cover " + sum
                        + " bytes, not less than the request " + request.describe());
            }
        }
        return new Reply.BlockStatus(status.cookie(), status.flags(), status.contextId(),
                BlockStatusExtent.merge(extents));
    }
}
