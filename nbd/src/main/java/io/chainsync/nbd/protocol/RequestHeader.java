package io.chainsync.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * A transmission request header, 28 bytes, optionally followed by {@code length} bytes of data for
 * {@code NBD_CMD_WRITE}:
 *
 * <pre>
 * C: 32 bits, 0x25609513, magic (NBD_REQUEST_MAGIC)
 * C: 16 bits, command flags
 * C: 16 bits, type
 * C: 64 bits, cookie
 * C: 64 bits, offset (unsigned)
 * C: 32 bits, length (unsigned)
 * </pre>
 *
 * @param flags command flags ({@code NBD_CMD_FLAG_*}), 16 bits
 * @param type command ({@code NBD_CMD_*}), 16 bits
 * @param cookie opaque value echoed in the reply
 * @param offset byte offset in the export; offsets beyond 2^63-1 are not supported
 * @param length unsigned 32-bit length
 */
public record RequestHeader(int flags, int type, long cookie, long offset, long length) {

    public RequestHeader {
        if ((flags & ~0xffff) != 0) {
            throw new IllegalArgumentException("command flags must fit 16 bits: " + flags);
        }
        if ((type & ~0xffff) != 0) {
            throw new IllegalArgumentException("command type must fit 16 bits: " + type);
        }
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be non-negative: " + offset);
        }
        if (length < 0 || length > Wire.UINT32_MAX) {
            throw new IllegalArgumentException("length must be an unsigned 32-bit value: " + length);
        }
    }

    /** Writes the 28-byte header at the buffer's position. */
    public void encode(ByteBuffer out) {
        out.putInt(NbdConstants.NBD_REQUEST_MAGIC);
        out.putShort((short) flags);
        out.putShort((short) type);
        out.putLong(cookie);
        out.putLong(offset);
        out.putInt((int) length);
    }

    /** Reads a 28-byte header at the buffer's position (server side; used by tests). */
    public static RequestHeader decode(ByteBuffer in) throws NbdProtocolException {
        int magic = in.getInt();
        if (magic != NbdConstants.NBD_REQUEST_MAGIC) {
            throw new NbdProtocolException("bad request magic " + Wire.hex(Wire.uint32(magic)));
        }
        int flags = Wire.uint16(in.getShort());
        int type = Wire.uint16(in.getShort());
        long cookie = in.getLong();
        long offset = in.getLong();
        if (offset < 0) {
            throw new NbdProtocolException("request offset beyond 2^63: " + Long.toUnsignedString(offset));
        }
        long length = Wire.uint32(in.getInt());
        return new RequestHeader(flags, type, cookie, offset, length);
    }

    /** Short description for messages, e.g. {@code "NBD_CMD_READ offset=0 length=4096"}. */
    public String describe() {
        return NbdConstants.commandName(type) + " offset=" + offset + " length=" + length;
    }

    public boolean hasFlag(int flag) {
        return (flags & flag) != 0;
    }
}
