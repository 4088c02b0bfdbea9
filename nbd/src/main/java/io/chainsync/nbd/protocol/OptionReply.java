package io.chainsync.nbd.protocol;

import static io.chainsync.nbd.protocol.NbdConstants.NBD_INFO_BLOCK_SIZE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_INFO_DESCRIPTION;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_INFO_EXPORT;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_INFO_NAME;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REP_ACK;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REP_INFO;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REP_META_CONTEXT;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REP_SERVER;

import java.nio.ByteBuffer;

/**
 * A decoded option reply (header plus data). Each record's {@link #encode(ByteBuffer)} writes the full
 * reply, header included.
 */
public sealed interface OptionReply {

    /** Default cap on option reply data: generous for the 4096-byte strings the spec allows. */
    int MAX_OPTION_REPLY_LENGTH = 64 * 1024 + 64;

    int option();

    /** Writes header and data. */
    void encode(ByteBuffer out);

    /**
     * Decodes the data of a reply whose header has been read.
     *
     * @param header the reply header
     * @param data exactly {@code header.length()} bytes
     */
    static OptionReply decode(OptionReplyHeader header, ByteBuffer data) throws NbdProtocolException {
        if (data.remaining() != header.length()) {
            throw new IllegalArgumentException("data must hold exactly " + header.length() + " bytes");
        }
        int option = header.option();
        if (header.isError()) {
            return new Error(option, header.type(), Wire.readMessage(data, data.remaining()));
        }
        switch (header.type()) {
            case NBD_REP_ACK:
                expectLength(header, 0);
                return new Ack(option);
            case NBD_REP_SERVER: {
                atLeast(header, 4);
                long nameLength = Wire.uint32(data.getInt());
                if (nameLength > data.remaining()) {
                    throw new NbdProtocolException("NBD_REP_SERVER name length " + nameLength
                            + " exceeds reply length " + header.length());
                }
                String name = Wire.readUtf8(data, (int) nameLength, "export name");
                return new Server(option, name, Wire.readMessage(data, data.remaining()));
            }
            case NBD_REP_INFO:
                return decodeInfo(header, data);
            case NBD_REP_META_CONTEXT: {
                atLeast(header, 4);
                int id = data.getInt();
                return new MetaContext(option, id, Wire.readUtf8(data, data.remaining(), "metadata context name"));
            }
            default:
                throw new NbdProtocolException("unknown option reply type "
                        + NbdConstants.optionReplyName(header.type()) + " to " + NbdConstants.optionName(option));
        }
    }

    private static OptionReply decodeInfo(OptionReplyHeader header, ByteBuffer data) throws NbdProtocolException {
        atLeast(header, 2);
        int option = header.option();
        int infoType = Wire.uint16(data.getShort());
        switch (infoType) {
            case NBD_INFO_EXPORT: {
                expectLength(header, 12);
                long size = data.getLong();
                if (size < 0) {
                    throw new NbdProtocolException("export size beyond 2^63: " + Long.toUnsignedString(size));
                }
                return new InfoExport(option, size, Wire.uint16(data.getShort()));
            }
            case NBD_INFO_NAME:
                return new InfoName(option, Wire.readUtf8(data, data.remaining(), "export name"));
            case NBD_INFO_DESCRIPTION:
                return new InfoDescription(option, Wire.readMessage(data, data.remaining()));
            case NBD_INFO_BLOCK_SIZE: {
                expectLength(header, 14);
                long minimum = Wire.uint32(data.getInt());
                long preferred = Wire.uint32(data.getInt());
                long maximum = Wire.uint32(data.getInt());
                return new InfoBlockSize(option, minimum, preferred, maximum);
            }
            default: {
                ByteBuffer copy = ByteBuffer.allocate(data.remaining());
                copy.put(data).flip();
                return new InfoUnknown(option, infoType, copy);
            }
        }
    }

    private static void expectLength(OptionReplyHeader header, int length) throws NbdProtocolException {
        if (header.length() != length) {
            throw new NbdProtocolException(NbdConstants.optionReplyName(header.type()) + " reply to "
                    + NbdConstants.optionName(header.option()) + " must have length " + length + ", got "
                    + header.length());
        }
    }

    private static void atLeast(OptionReplyHeader header, int length) throws NbdProtocolException {
        if (header.length() < length) {
            throw new NbdProtocolException(NbdConstants.optionReplyName(header.type()) + " reply to "
                    + NbdConstants.optionName(header.option()) + " must have length >= " + length + ", got "
                    + header.length());
        }
    }

    private static void header(ByteBuffer out, int option, int type, int length) {
        new OptionReplyHeader(option, type, length).encode(out);
    }

    /** {@code NBD_REP_ACK}: no data. */
    record Ack(int option) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            header(out, option, NBD_REP_ACK, 0);
        }
    }

    /**
     * {@code NBD_REP_SERVER}:
     * <pre>
     * 32 bits, length of name (unsigned)
     * String, name of the export
     * rest: implementation-specific details, a human readable string
     * </pre>
     */
    record Server(int option, String name, String details) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            byte[] n = Wire.utf8(name);
            byte[] d = Wire.utf8(details);
            header(out, option, NBD_REP_SERVER, 4 + n.length + d.length);
            out.putInt(n.length).put(n).put(d);
        }
    }

    /**
     * {@code NBD_REP_INFO} / {@code NBD_INFO_EXPORT}, length 12:
     * <pre>
     * 16 bits, NBD_INFO_EXPORT
     * 64 bits, size of the export in bytes (unsigned)
     * 16 bits, transmission flags
     * </pre>
     */
    record InfoExport(int option, long size, int transmissionFlags) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            header(out, option, NBD_REP_INFO, 12);
            out.putShort((short) NBD_INFO_EXPORT).putLong(size).putShort((short) transmissionFlags);
        }
    }

    /** {@code NBD_REP_INFO} / {@code NBD_INFO_NAME}: 16 bits type, then the canonical export name. */
    record InfoName(int option, String name) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            byte[] n = Wire.utf8(name);
            header(out, option, NBD_REP_INFO, 2 + n.length);
            out.putShort((short) NBD_INFO_NAME).put(n);
        }
    }

    /** {@code NBD_REP_INFO} / {@code NBD_INFO_DESCRIPTION}: 16 bits type, then a description. */
    record InfoDescription(int option, String description) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            byte[] d = Wire.utf8(description);
            header(out, option, NBD_REP_INFO, 2 + d.length);
            out.putShort((short) NBD_INFO_DESCRIPTION).put(d);
        }
    }

    /**
     * {@code NBD_REP_INFO} / {@code NBD_INFO_BLOCK_SIZE}, length 14:
     * <pre>
     * 16 bits, NBD_INFO_BLOCK_SIZE
     * 32 bits, minimum block size
     * 32 bits, preferred block size
     * 32 bits, maximum payload size
     * </pre>
     * Values are unsigned 32-bit.
     */
    record InfoBlockSize(int option, long minimum, long preferred, long maximum) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            header(out, option, NBD_REP_INFO, 14);
            out.putShort((short) NBD_INFO_BLOCK_SIZE).putInt((int) minimum).putInt((int) preferred)
                    .putInt((int) maximum);
        }
    }

    /** An {@code NBD_REP_INFO} of a type this client does not know; clients must ignore it. */
    record InfoUnknown(int option, int infoType, ByteBuffer data) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            header(out, option, NBD_REP_INFO, 2 + data.remaining());
            out.putShort((short) infoType).put(data.duplicate());
        }
    }

    /**
     * {@code NBD_REP_META_CONTEXT}:
     * <pre>
     * 32 bits, NBD metadata context ID
     * String, name of the metadata context (UTF-8)
     * </pre>
     */
    record MetaContext(int option, int contextId, String name) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            byte[] n = Wire.utf8(name);
            header(out, option, NBD_REP_META_CONTEXT, 4 + n.length);
            out.putInt(contextId).put(n);
        }
    }

    /** An error reply ({@code NBD_REP_ERR_*}, bit 31 set); data, if any, is a message for humans. */
    record Error(int option, int type, String message) implements OptionReply {
        @Override
        public void encode(ByteBuffer out) {
            byte[] m = Wire.utf8(message);
            header(out, option, type, m.length);
            out.put(m);
        }

        /** e.g. {@code "NBD_REP_ERR_UNKNOWN: export 'x' not present"}. */
        public String describe() {
            String name = NbdConstants.optionReplyName(type);
            return message.isEmpty() ? name : name + ": " + message;
        }
    }
}
