package io.chainsync.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * A structured reply chunk header, 20 bytes, followed by {@code length} bytes of payload:
 *
 * <pre>
 * S: 32 bits, 0x668e33ef, magic (NBD_STRUCTURED_REPLY_MAGIC)
 * S: 16 bits, flags (NBD_REPLY_FLAG_DONE on the last chunk)
 * S: 16 bits, type (NBD_REPLY_TYPE_*)
 * S: 64 bits, cookie
 * S: 32 bits, length of payload (unsigned)
 * S: length bytes of payload data (if length is nonzero)
 * </pre>
 *
 * @param flags 16-bit chunk flags
 * @param type 16-bit chunk type
 * @param cookie the request's cookie
 * @param length unsigned 32-bit payload length
 */
public record StructuredReplyHeader(int flags, int type, long cookie, long length) {

    public StructuredReplyHeader {
        if ((flags & ~0xffff) != 0 || (type & ~0xffff) != 0) {
            throw new IllegalArgumentException("flags and type must fit 16 bits");
        }
        if (length < 0 || length > Wire.UINT32_MAX) {
            throw new IllegalArgumentException("length must be an unsigned 32-bit value: " + length);
        }
    }

    public boolean done() {
        return (flags & NbdConstants.NBD_REPLY_FLAG_DONE) != 0;
    }

    public boolean isError() {
        return (type & NbdConstants.NBD_REPLY_TYPE_ERROR_BIT) != 0;
    }

    public void encode(ByteBuffer out) {
        out.putInt(NbdConstants.NBD_STRUCTURED_REPLY_MAGIC);
        out.putShort((short) flags);
        out.putShort((short) type);
        out.putLong(cookie);
        out.putInt((int) length);
    }

    public static StructuredReplyHeader decode(ByteBuffer in) throws NbdProtocolException {
        int magic = in.getInt();
        if (magic != NbdConstants.NBD_STRUCTURED_REPLY_MAGIC) {
            throw new NbdProtocolException("bad structured reply magic " + Wire.hex(Wire.uint32(magic)));
        }
        int flags = Wire.uint16(in.getShort());
        int type = Wire.uint16(in.getShort());
        long cookie = in.getLong();
        long length = Wire.uint32(in.getInt());
        return new StructuredReplyHeader(flags, type, cookie, length);
    }
}
