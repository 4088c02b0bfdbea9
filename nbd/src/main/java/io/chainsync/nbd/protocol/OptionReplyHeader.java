package io.chainsync.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * The header of an option reply, 20 bytes, followed by {@code length} bytes of reply data:
 *
 * <pre>
 * S: 64 bits, 0x3e889045565a9 (magic number for replies)
 * S: 32 bits, the option as sent by the client to which this is a reply
 * S: 32 bits, reply type (e.g., NBD_REP_ACK, or NBD_REP_ERR_* with bit 31 set)
 * S: 32 bits, length of the reply (unsigned)
 * S: any data as required by the reply
 * </pre>
 *
 * @param option the option this replies to
 * @param type reply type ({@code NBD_REP_*})
 * @param length unsigned 32-bit data length
 */
public record OptionReplyHeader(int option, int type, long length) {

    public OptionReplyHeader {
        if (length < 0 || length > Wire.UINT32_MAX) {
            throw new IllegalArgumentException("length must be an unsigned 32-bit value: " + length);
        }
    }

    public boolean isError() {
        return (type & NbdConstants.NBD_REP_FLAG_ERROR) != 0;
    }

    public void encode(ByteBuffer out) {
        out.putLong(NbdConstants.NBD_OPTION_REPLY_MAGIC);
        out.putInt(option);
        out.putInt(type);
        out.putInt((int) length);
    }

    /**
     * Reads and checks a header: magic, the expected option, and a length of at most {@code maxLength}.
     */
    public static OptionReplyHeader decode(ByteBuffer in, int expectedOption, int maxLength)
            throws NbdProtocolException {
        long magic = in.getLong();
        if (magic != NbdConstants.NBD_OPTION_REPLY_MAGIC) {
            throw new NbdProtocolException("bad option reply magic " + Wire.hex(magic));
        }
        int option = in.getInt();
        int type = in.getInt();
        long length = Wire.uint32(in.getInt());
        if (option != expectedOption) {
            throw new NbdProtocolException("option reply for " + NbdConstants.optionName(option)
                    + " while waiting for " + NbdConstants.optionName(expectedOption));
        }
        if (length > maxLength) {
            throw new NbdProtocolException(NbdConstants.optionReplyName(type) + " reply to "
                    + NbdConstants.optionName(option) + " has length " + length + ", over the limit of "
                    + maxLength);
        }
        return new OptionReplyHeader(option, type, length);
    }
}
