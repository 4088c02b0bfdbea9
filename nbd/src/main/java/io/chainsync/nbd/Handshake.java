package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.OptionReply;
import io.chainsync.nbd.protocol.OptionReplyHeader;
import io.chainsync.nbd.protocol.OptionRequest;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fixed-newstyle handshake of the NBD protocol, on a blocking channel:
 *
 * <pre>
 * S: NBDMAGIC, IHAVEOPT, 16-bit handshake flags (FIXED_NEWSTYLE [| NO_ZEROES])
 * C: 32-bit client flags
 * C: NBD_OPT_STRUCTURED_REPLY              S: ACK | ERR_*
 * C: NBD_OPT_SET_META_CONTEXT (queries)    S: META_CONTEXT (id, name)* then ACK | ERR_*
 * C: NBD_OPT_GO (INFO_BLOCK_SIZE)          S: INFO (EXPORT, BLOCK_SIZE, ...)* then ACK | ERR_*
 * </pre>
 *
 * Options the server does not support are tolerated (the feature is simply absent); only a refusal
 * of NBD_OPT_GO is fatal.
 */
final class Handshake {

    /** What negotiation agreed on. */
    record Result(long size, int transmissionFlags, boolean structuredReplies, Map<Integer, String> contexts,
                  BlockSize blockSize) {
    }

    private final SocketChannel channel;
    private final String uri;

    Handshake(SocketChannel channel, String uri) {
        this.channel = channel;
        this.uri = uri;
    }

    Result negotiate(String exportName, List<String> metaContexts) throws IOException {
        ByteBuffer greeting = read(18);
        long magic = greeting.getLong();
        long option = greeting.getLong();
        int flags = Short.toUnsignedInt(greeting.getShort());
        if (magic != NbdConstants.NBDMAGIC) {
            throw new NbdProtocolException(uri + ": not an NBD server (bad magic)");
        }
        if (option != NbdConstants.IHAVEOPT) {
            throw new NbdProtocolException(uri + ": server speaks the oldstyle protocol, which is not supported");
        }
        if ((flags & NbdConstants.NBD_FLAG_FIXED_NEWSTYLE) == 0) {
            throw new NbdProtocolException(uri + ": server does not support fixed newstyle negotiation");
        }
        write(ByteBuffer.allocate(4).putInt(clientFlags(flags)).flip());

        boolean structured = false;
        for (OptionReply reply : exchange(OptionRequest.structuredReply())) {
            structured |= reply instanceof OptionReply.Ack;
        }

        Map<Integer, String> contexts = new HashMap<>();
        if (structured && !metaContexts.isEmpty()) {
            for (OptionReply reply : exchange(OptionRequest.metaContext(NbdConstants.NBD_OPT_SET_META_CONTEXT,
                    exportName, metaContexts))) {
                if (reply instanceof OptionReply.MetaContext context) {
                    if (!metaContexts.contains(context.name())) {
                        throw new NbdProtocolException(uri + ": server selected a context that was not asked for: "
                                + context.name());
                    }
                    contexts.put(context.contextId(), context.name());
                }
            }
        }

        long size = -1;
        int transmissionFlags = 0;
        BlockSize blockSize = BlockSize.defaults();
        for (OptionReply reply : exchange(OptionRequest.go(NbdConstants.NBD_OPT_GO, exportName,
                NbdConstants.NBD_INFO_BLOCK_SIZE))) {
            if (reply instanceof OptionReply.Error error) {
                throw new NbdException(uri + ": the server refused export '" + exportName + "': "
                        + NbdConstants.optionReplyName(error.type())
                        + (error.message().isEmpty() ? "" : " (" + error.message() + ")"));
            } else if (reply instanceof OptionReply.InfoExport export) {
                size = export.size();
                transmissionFlags = export.transmissionFlags();
            } else if (reply instanceof OptionReply.InfoBlockSize info) {
                try {
                    blockSize = new BlockSize((int) info.minimum(), (int) Math.min(info.preferred(), Integer.MAX_VALUE),
                            info.maximum());
                } catch (IllegalArgumentException e) {
                    throw new NbdProtocolException(uri + ": invalid NBD_INFO_BLOCK_SIZE: " + e.getMessage());
                }
            }
        }
        if (size < 0) {
            throw new NbdProtocolException(uri + ": NBD_OPT_GO succeeded without NBD_INFO_EXPORT");
        }
        return new Result(size, transmissionFlags, structured, contexts, blockSize);
    }

    /** Lists the contexts matching a query (NBD_OPT_LIST_META_CONTEXT) and ends with NBD_OPT_ABORT. */
    List<String> listMetaContexts(String exportName, String query) throws IOException {
        ByteBuffer greeting = read(18);
        if (greeting.getLong() != NbdConstants.NBDMAGIC || greeting.getLong() != NbdConstants.IHAVEOPT) {
            throw new NbdProtocolException(uri + ": not a newstyle NBD server");
        }
        int flags = Short.toUnsignedInt(greeting.getShort());
        write(ByteBuffer.allocate(4).putInt(clientFlags(flags)).flip());
        exchange(OptionRequest.structuredReply());
        List<String> names = new ArrayList<>();
        for (OptionReply reply : exchange(OptionRequest.metaContext(NbdConstants.NBD_OPT_LIST_META_CONTEXT,
                exportName, query == null || query.isEmpty() ? List.of() : List.of(query)))) {
            if (reply instanceof OptionReply.MetaContext context) {
                names.add(context.name());
            }
        }
        write(encode(OptionRequest.abort()));
        return names;
    }

    /** Fixed newstyle, and no zeroes when the server offers to skip them. */
    private static int clientFlags(int serverFlags) {
        return NbdConstants.NBD_FLAG_C_FIXED_NEWSTYLE
                | ((serverFlags & NbdConstants.NBD_FLAG_NO_ZEROES) != 0 ? NbdConstants.NBD_FLAG_C_NO_ZEROES : 0);
    }

    /** Sends an option and reads its replies up to the final ACK or error (returned last). */
    private List<OptionReply> exchange(OptionRequest request) throws IOException {
        write(encode(request));
        List<OptionReply> replies = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            ByteBuffer headerBytes = read(NbdConstants.OPTION_REPLY_HEADER_SIZE);
            OptionReplyHeader header = OptionReplyHeader.decode(headerBytes, request.option(),
                    OptionReply.MAX_OPTION_REPLY_LENGTH);
            OptionReply reply = OptionReply.decode(header, read((int) header.length()));
            replies.add(reply);
            if (reply instanceof OptionReply.Ack || reply instanceof OptionReply.Error) {
                return replies;
            }
        }
        throw new NbdProtocolException(uri + ": too many replies to " + NbdConstants.optionName(request.option()));
    }

    private static ByteBuffer encode(OptionRequest request) {
        ByteBuffer out = ByteBuffer.allocate(request.size());
        request.encode(out);
        return out.flip();
    }

    private void write(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private ByteBuffer read(int n) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(n);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException(uri + ": the server closed the connection during the handshake");
            }
        }
        return buffer.flip();
    }
}
