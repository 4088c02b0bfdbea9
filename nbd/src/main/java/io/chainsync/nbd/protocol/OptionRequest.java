package io.chainsync.nbd.protocol;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * An option request sent by the client during fixed newstyle negotiation:
 *
 * <pre>
 * C: 64 bits, 0x49484156454F5054 (ASCII 'IHAVEOPT')
 * C: 32 bits, option
 * C: 32 bits, length of option data (unsigned)
 * C: any data needed for the chosen option, of length as specified above
 * </pre>
 *
 * <p>Option data of the options this client sends:
 *
 * <pre>
 * NBD_OPT_INFO / NBD_OPT_GO:
 *   32 bits, length of name (unsigned)
 *   String: name of the export
 *   16 bits, number of information requests
 *   16 bits x n, list of NBD_INFO information requests
 * NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT:
 *   32 bits, length of export name
 *   String, name of export
 *   32 bits, number of queries
 *   queries, each: 32 bits length of query, String query
 * NBD_OPT_EXPORT_NAME: String, name of the export (no length prefix)
 * NBD_OPT_STRUCTURED_REPLY, NBD_OPT_ABORT, NBD_OPT_LIST: no data
 * </pre>
 *
 * @param option the option ({@code NBD_OPT_*})
 * @param data the option data (read-only view; its position and limit delimit the bytes)
 */
public record OptionRequest(int option, ByteBuffer data) {

    public OptionRequest {
        data = data.asReadOnlyBuffer();
    }

    /** Encoded size: 16-byte header plus data. */
    public int size() {
        return NbdConstants.OPTION_REQUEST_HEADER_SIZE + data.remaining();
    }

    public void encode(ByteBuffer out) {
        out.putLong(NbdConstants.IHAVEOPT);
        out.putInt(option);
        out.putInt(data.remaining());
        out.put(data.duplicate());
    }

    /** Server-side decode (used by tests). */
    public static OptionRequest decode(ByteBuffer in) throws NbdProtocolException {
        long magic = in.getLong();
        if (magic != NbdConstants.IHAVEOPT) {
            throw new NbdProtocolException("bad option request magic " + Wire.hex(magic));
        }
        int option = in.getInt();
        long length = Wire.uint32(in.getInt());
        if (length > in.remaining()) {
            throw new NbdProtocolException("option data length " + length + " exceeds the bytes available");
        }
        ByteBuffer data = ByteBuffer.allocate((int) length);
        data.put(in.slice(in.position(), (int) length)).flip();
        in.position(in.position() + (int) length);
        return new OptionRequest(option, data);
    }

    public static OptionRequest structuredReply() {
        return new OptionRequest(NbdConstants.NBD_OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
    }

    public static OptionRequest abort() {
        return new OptionRequest(NbdConstants.NBD_OPT_ABORT, ByteBuffer.allocate(0));
    }

    public static OptionRequest exportName(String exportName) {
        return new OptionRequest(NbdConstants.NBD_OPT_EXPORT_NAME,
                ByteBuffer.wrap(Wire.protocolString("export name", exportName)));
    }

    /** {@code NBD_OPT_GO} (or {@code NBD_OPT_INFO} when {@code option} says so) with information requests. */
    public static OptionRequest go(int option, String exportName, int... infoRequests) {
        if (option != NbdConstants.NBD_OPT_GO && option != NbdConstants.NBD_OPT_INFO) {
            throw new IllegalArgumentException("not NBD_OPT_GO or NBD_OPT_INFO: " + option);
        }
        byte[] name = Wire.protocolString("export name", exportName);
        ByteBuffer data = ByteBuffer.allocate(4 + name.length + 2 + 2 * infoRequests.length);
        data.putInt(name.length).put(name).putShort((short) infoRequests.length);
        for (int info : infoRequests) {
            data.putShort((short) info);
        }
        return new OptionRequest(option, data.flip());
    }

    /** {@code NBD_OPT_SET_META_CONTEXT} or {@code NBD_OPT_LIST_META_CONTEXT} with queries. */
    public static OptionRequest metaContext(int option, String exportName, List<String> queries) {
        if (option != NbdConstants.NBD_OPT_SET_META_CONTEXT && option != NbdConstants.NBD_OPT_LIST_META_CONTEXT) {
            throw new IllegalArgumentException("not a meta context option: " + option);
        }
        byte[] name = Wire.protocolString("export name", exportName);
        byte[][] encoded = new byte[queries.size()][];
        int size = 4 + name.length + 4;
        for (int i = 0; i < encoded.length; i++) {
            encoded[i] = Wire.protocolString("meta context query", queries.get(i));
            size += 4 + encoded[i].length;
        }
        ByteBuffer data = ByteBuffer.allocate(size);
        data.putInt(name.length).put(name).putInt(encoded.length);
        for (byte[] query : encoded) {
            data.putInt(query.length).put(query);
        }
        return new OptionRequest(option, data.flip());
    }
}
