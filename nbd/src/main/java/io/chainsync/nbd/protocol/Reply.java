package io.chainsync.nbd.protocol;

import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_FLAG_DONE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_BLOCK_STATUS;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_ERROR;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_ERROR_OFFSET;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_NONE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A decoded transmission reply: a simple reply or one structured reply chunk.
 *
 * <p>Each structured record documents its payload layout and offers {@code decodePayload} (pure,
 * checks only what the payload itself can tell: lengths and internal consistency) and
 * {@link #encode(ByteBuffer)}, which writes header plus payload. Checks that need the request
 * (cookie known, offsets in range, context negotiated) belong to {@link ReplyDecoder}.
 */
public sealed interface Reply {

    long cookie();

    /** True if this is the last message for its cookie (always true for simple replies). */
    boolean done();

    void encode(ByteBuffer out);

    /**
     * A simple reply. For a successful {@code NBD_CMD_READ} without structured replies the request's
     * length of data follows: {@code dataLength} is that length and {@code data} holds it, or is
     * {@code null} when the decoder left the data in the stream ({@link ReplyDecoder.DataMode#STREAM}).
     * See {@link SimpleReplyHeader} for the layout.
     */
    record Simple(long cookie, int error, int dataLength, ByteBuffer data) implements Reply {
        @Override
        public boolean done() {
            return true;
        }

        @Override
        public void encode(ByteBuffer out) {
            new SimpleReplyHeader(error, cookie).encode(out);
            if (data != null) {
                out.put(data.duplicate());
            }
        }
    }

    /** {@code NBD_REPLY_TYPE_NONE}: length 0, always with {@code NBD_REPLY_FLAG_DONE}. */
    record None(long cookie, int flags) implements Reply {
        @Override
        public boolean done() {
            return (flags & NBD_REPLY_FLAG_DONE) != 0;
        }

        @Override
        public void encode(ByteBuffer out) {
            new StructuredReplyHeader(flags, NBD_REPLY_TYPE_NONE, cookie, 0).encode(out);
        }

        static None decodePayload(StructuredReplyHeader header) throws NbdProtocolException {
            if (header.length() != 0) {
                throw new NbdProtocolException("NBD_REPLY_TYPE_NONE with length " + header.length());
            }
            if (!header.done()) {
                throw new NbdProtocolException("NBD_REPLY_TYPE_NONE without NBD_REPLY_FLAG_DONE");
            }
            return new None(header.cookie(), header.flags());
        }
    }

    /**
     * {@code NBD_REPLY_TYPE_OFFSET_DATA}, length at least 9:
     * <pre>
     * 64 bits: offset (unsigned)
     * length - 8 bytes: data
     * </pre>
     * {@code data} is {@code null} when the decoder left the data in the stream.
     */
    record OffsetData(long cookie, int flags, long offset, int dataLength, ByteBuffer data) implements Reply {
        @Override
        public boolean done() {
            return (flags & NBD_REPLY_FLAG_DONE) != 0;
        }

        @Override
        public void encode(ByteBuffer out) {
            new StructuredReplyHeader(flags, NBD_REPLY_TYPE_OFFSET_DATA, cookie, 8L + dataLength).encode(out);
            out.putLong(offset);
            out.put(data.duplicate());
        }

        static OffsetData decodePayload(StructuredReplyHeader header, ByteBuffer payload)
                throws NbdProtocolException {
            if (header.length() < 9) {
                throw new NbdProtocolException("NBD_REPLY_TYPE_OFFSET_DATA with length " + header.length()
                        + " (must be at least 9)");
            }
            long offset = payload.getLong();
            int dataLength = payload.remaining();
            return new OffsetData(header.cookie(), header.flags(), offset, dataLength, payload.slice());
        }
    }

    /**
     * {@code NBD_REPLY_TYPE_OFFSET_HOLE}, length exactly 12:
     * <pre>
     * 64 bits: offset (unsigned)
     * 32 bits: hole size (unsigned, MUST be nonzero)
     * </pre>
     */
    record OffsetHole(long cookie, int flags, long offset, long holeSize) implements Reply {
        @Override
        public boolean done() {
            return (flags & NBD_REPLY_FLAG_DONE) != 0;
        }

        @Override
        public void encode(ByteBuffer out) {
            new StructuredReplyHeader(flags, NBD_REPLY_TYPE_OFFSET_HOLE, cookie, 12).encode(out);
            out.putLong(offset);
            out.putInt((int) holeSize);
        }

        static OffsetHole decodePayload(StructuredReplyHeader header, ByteBuffer payload)
                throws NbdProtocolException {
            if (header.length() != 12) {
                throw new NbdProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE with length " + header.length()
                        + " (must be 12)");
            }
            long offset = payload.getLong();
            long size = Wire.uint32(payload.getInt());
            if (size == 0) {
                throw new NbdProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE with zero hole size");
            }
            return new OffsetHole(header.cookie(), header.flags(), offset, size);
        }
    }

    /**
     * {@code NBD_REPLY_TYPE_BLOCK_STATUS}, length 4 + a positive multiple of 8:
     * <pre>
     * 32 bits, metadata context ID
     * one or more descriptors, each:
     *   32 bits, length of the extent (unsigned, MUST be nonzero)
     *   32 bits, status flags
     * </pre>
     * Extents are consecutive, starting at the request's offset.
     */
    record BlockStatus(long cookie, int flags, int contextId, List<BlockStatusExtent> extents) implements Reply {
        public BlockStatus {
            extents = List.copyOf(extents);
        }

        @Override
        public boolean done() {
            return (flags & NBD_REPLY_FLAG_DONE) != 0;
        }

        @Override
        public void encode(ByteBuffer out) {
            new StructuredReplyHeader(flags, NBD_REPLY_TYPE_BLOCK_STATUS, cookie,
                    4L + (long) BlockStatusExtent.SIZE * extents.size()).encode(out);
            out.putInt(contextId);
            for (BlockStatusExtent extent : extents) {
                extent.encode(out);
            }
        }

        /**
         * @param maxExtents cap on the number of descriptors, checked before anything is allocated
         */
        static BlockStatus decodePayload(StructuredReplyHeader header, ByteBuffer payload, int maxExtents)
                throws NbdProtocolException {
            long length = header.length();
            if (length < 4 + BlockStatusExtent.SIZE || (length - 4) % BlockStatusExtent.SIZE != 0) {
                throw new NbdProtocolException("NBD_REPLY_TYPE_BLOCK_STATUS with length " + length
                        + " (must be 4 + a positive multiple of 8)");
            }
            long count = (length - 4) / BlockStatusExtent.SIZE;
            if (count > maxExtents) {
                throw new NbdProtocolException("NBD_REPLY_TYPE_BLOCK_STATUS with " + count
                        + " extents, over the limit of " + maxExtents);
            }
            int contextId = payload.getInt();
            List<BlockStatusExtent> extents = new ArrayList<>((int) count);
            for (long i = 0; i < count; i++) {
                extents.add(BlockStatusExtent.decode(payload));
            }
            return new BlockStatus(header.cookie(), header.flags(), contextId, extents);
        }
    }

    /**
     * An error chunk: {@code NBD_REPLY_TYPE_ERROR} (length at least 6), {@code NBD_REPLY_TYPE_ERROR_OFFSET}
     * (length at least 14) or an unknown type with bit 15 set:
     * <pre>
     * 32 bits: error (MUST be nonzero)
     * 16 bits: message length (no more than header length - 6, or - 14 for ERROR_OFFSET)
     * message length bytes: optional string for a human
     * 64 bits: offset (unsigned)            -- NBD_REPLY_TYPE_ERROR_OFFSET only
     * </pre>
     *
     * @param offset the offset of an {@code NBD_REPLY_TYPE_ERROR_OFFSET}, otherwise -1
     */
    record Error(long cookie, int flags, int type, int error, String message, long offset) implements Reply {
        @Override
        public boolean done() {
            return (flags & NBD_REPLY_FLAG_DONE) != 0;
        }

        public boolean hasOffset() {
            return type == NBD_REPLY_TYPE_ERROR_OFFSET;
        }

        @Override
        public void encode(ByteBuffer out) {
            byte[] m = Wire.utf8(message);
            int fixed = hasOffset() ? 14 : 6;
            new StructuredReplyHeader(flags, type, cookie, fixed + m.length).encode(out);
            out.putInt(error).putShort((short) m.length).put(m);
            if (hasOffset()) {
                out.putLong(offset);
            }
        }

        static Error decodePayload(StructuredReplyHeader header, ByteBuffer payload) throws NbdProtocolException {
            boolean withOffset = header.type() == NBD_REPLY_TYPE_ERROR_OFFSET;
            int fixed = withOffset ? 14 : 6;
            String name = NbdConstants.replyTypeName(header.type());
            if (header.length() < fixed) {
                throw new NbdProtocolException(name + " with length " + header.length() + " (must be at least "
                        + fixed + ")");
            }
            int error = payload.getInt();
            int messageLength = Wire.uint16(payload.getShort());
            if (messageLength > header.length() - fixed) {
                throw new NbdProtocolException(name + " message length " + messageLength
                        + " does not fit chunk length " + header.length());
            }
            if (error == 0) {
                throw new NbdProtocolException(name + " with error value 0");
            }
            String message = Wire.readMessage(payload, messageLength);
            long offset = -1;
            if (withOffset) {
                offset = payload.getLong();
                if (offset < 0) {
                    throw new NbdProtocolException(name + " offset beyond 2^63");
                }
            }
            return new Error(header.cookie(), header.flags(), header.type(), error, message, offset);
        }
    }

    /** Decodes any structured chunk payload, without request context. Unknown non-error types fail. */
    static Reply decodeChunk(StructuredReplyHeader header, ByteBuffer payload, int maxExtents)
            throws NbdProtocolException {
        switch (header.type()) {
            case NBD_REPLY_TYPE_NONE:
                return None.decodePayload(header);
            case NBD_REPLY_TYPE_OFFSET_DATA:
                return OffsetData.decodePayload(header, payload);
            case NBD_REPLY_TYPE_OFFSET_HOLE:
                return OffsetHole.decodePayload(header, payload);
            case NBD_REPLY_TYPE_BLOCK_STATUS:
                return BlockStatus.decodePayload(header, payload, maxExtents);
            case NBD_REPLY_TYPE_ERROR:
            case NBD_REPLY_TYPE_ERROR_OFFSET:
                return Error.decodePayload(header, payload);
            default:
                if (header.isError()) {
                    // Unknown error chunk: the reply is errored; its fixed start is shared by all error chunks.
                    return Error.decodePayload(header, payload);
                }
                throw new NbdProtocolException("unknown structured reply chunk type " + header.type());
        }
    }
}
