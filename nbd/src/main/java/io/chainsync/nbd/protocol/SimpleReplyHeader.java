package io.chainsync.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * A simple reply header, 16 bytes, followed by the request's length of data only for a successful
 * {@code NBD_CMD_READ} without structured replies:
 *
 * <pre>
 * S: 32 bits, 0x67446698, magic (NBD_SIMPLE_REPLY_MAGIC)
 * S: 32 bits, error (MAY be zero)
 * S: 64 bits, cookie
 * S: (length bytes of data if the request is of type NBD_CMD_READ and error is zero)
 * </pre>
 *
 * @param error NBD error value, 0 for success
 * @param cookie the request's cookie
 */
public record SimpleReplyHeader(int error, long cookie) {

    public void encode(ByteBuffer out) {
        out.putInt(NbdConstants.NBD_SIMPLE_REPLY_MAGIC);
        out.putInt(error);
        out.putLong(cookie);
    }

    public static SimpleReplyHeader decode(ByteBuffer in) throws NbdProtocolException {
        int magic = in.getInt();
        if (magic != NbdConstants.NBD_SIMPLE_REPLY_MAGIC) {
            throw new NbdProtocolException("bad simple reply magic " + Wire.hex(Wire.uint32(magic)));
        }
        int error = in.getInt();
        long cookie = in.getLong();
        return new SimpleReplyHeader(error, cookie);
    }
}
