package io.chainsync.nbd;

import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_CAN_MULTI_CONN;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_C_FIXED_NEWSTYLE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_C_NO_ZEROES;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_FIXED_NEWSTYLE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_FLAG_NO_ZEROES;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_INFO_BLOCK_SIZE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_INFO_EXPORT;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_OPT_GO;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_OPT_LIST_META_CONTEXT;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_OPT_SET_META_CONTEXT;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_OPT_STARTTLS;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_OPT_STRUCTURED_REPLY;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REP_ERR_TLS_REQD;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REP_ERR_UNSUP;

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
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fixed newstyle negotiation on a connected blocking channel. The wire formats live in the protocol
 * package; this class only sequences options and reads replies.
 *
 * <p>For a TLS URI, {@code NBD_OPT_STARTTLS} is the first option, right after the client flags; once
 * the server acknowledges it, the TLS handshake runs on the same socket and every later option, reply
 * and the whole transmission phase go through TLS ({@link #transport()}). Any refusal ends the
 * connection: a client that asked for TLS never goes on in plaintext. A plaintext client that meets a
 * server requiring TLS ({@code NBD_REP_ERR_TLS_REQD}) fails with "server requires TLS (use nbds://)".
 */
final class Handshake {

    private static final Logger LOGGER = LoggerFactory.getLogger(Handshake.class);

    /** What the negotiation settled. {@code contexts} maps this connection's context ids to names. */
    record Result(long size, int transmissionFlags, BlockSize blockSize, boolean structuredReplies,
            Map<Integer, String> contexts) {
        Result {
            contexts = Map.copyOf(contexts);
        }

        boolean has(int flag) {
            return (transmissionFlags & flag) != 0;
        }
    }

    private final SocketChannel socket;
    private final NbdUri uri;
    private final ByteBuffer header = ByteBuffer.allocate(NbdConstants.OPTION_REPLY_HEADER_SIZE);
    private Transport channel;
    private boolean tlsRunning;
    private boolean noZeroes;
    private volatile boolean greeted;

    Handshake(SocketChannel socket, NbdUri uri) {
        this.socket = socket;
        this.uri = uri;
        this.channel = Transport.plain(socket);
    }

    /** The connection's socket. */
    SocketChannel socket() {
        return socket;
    }

    /** Whether the server's greeting arrived (read by another thread when the connect timeout passed). */
    boolean greeted() {
        return greeted;
    }

    /** The connection's byte stream: the socket, or the TLS session once {@link #start()} set it up. */
    Transport transport() {
        return channel;
    }

    /**
     * Reads the server greeting and answers with the client flags; for a TLS URI then upgrades the
     * connection ({@code NBD_OPT_STARTTLS} and the TLS handshake).
     */
    void start() throws IOException {
        ByteBuffer greeting = readExactly(18);
        greeted = true;
        long magic = greeting.getLong();
        if (magic != NbdConstants.NBDMAGIC) {
            throw new NbdProtocolException(uri + " is not an NBD server (bad greeting magic 0x"
                    + Long.toHexString(magic) + ")");
        }
        long second = greeting.getLong();
        if (second == NbdConstants.NBD_CLISERV_MAGIC) {
            throw new NbdException(uri + " speaks the oldstyle NBD handshake, which is not supported");
        }
        if (second != NbdConstants.IHAVEOPT) {
            throw new NbdProtocolException(uri + ": bad newstyle magic 0x" + Long.toHexString(second));
        }
        int handshakeFlags = greeting.getShort() & 0xffff;
        if ((handshakeFlags & NBD_FLAG_FIXED_NEWSTYLE) == 0) {
            throw new NbdException(uri + " does not support fixed newstyle negotiation");
        }
        noZeroes = (handshakeFlags & NBD_FLAG_NO_ZEROES) != 0;
        int clientFlags = NBD_FLAG_C_FIXED_NEWSTYLE | (noZeroes ? NBD_FLAG_C_NO_ZEROES : 0);
        write(ByteBuffer.allocate(4).putInt(clientFlags).flip());
        if (uri.isTls()) {
            startTls();
        }
    }

    /** {@code NBD_OPT_STARTTLS}, then the TLS handshake; any refusal is an error, never a fallback. */
    private void startTls() throws IOException {
        Tls.Upgrade upgrade = Tls.prepare(uri);
        send(new OptionRequest(NBD_OPT_STARTTLS, ByteBuffer.allocate(0)));
        OptionReply reply = readReply(NBD_OPT_STARTTLS);
        if (reply instanceof OptionReply.Error error) {
            throw new NbdException("server " + uri + " refused NBD_OPT_STARTTLS (" + error.describe()
                    + "): it does not offer TLS, and an nbds URI never falls back to plaintext");
        }
        if (!(reply instanceof OptionReply.Ack)) {
            throw unexpected(reply);
        }
        channel = upgrade.handshake(socket);
        tlsRunning = true;
        LOGGER.atDebug().addKeyValue("uri", uri).addKeyValue("tls", channel.describe()).log("TLS started");
    }

    /** {@code NBD_OPT_STRUCTURED_REPLY}; false if the server refused it. */
    boolean structuredReplies() throws IOException {
        send(OptionRequest.structuredReply());
        OptionReply reply = readReply(NBD_OPT_STRUCTURED_REPLY);
        if (reply instanceof OptionReply.Ack) {
            return true;
        }
        if (reply instanceof OptionReply.Error error) {
            LOGGER.atDebug().addKeyValue("uri", uri).addKeyValue("reply", error.describe())
                    .log("server refused structured replies");
            return false;
        }
        throw unexpected(reply);
    }

    /**
     * {@code NBD_OPT_SET_META_CONTEXT} (or LIST with {@code list}); contexts the server refuses or does
     * not know are simply absent from the result. An error reply yields an empty result.
     */
    Map<Integer, String> metaContexts(int option, String exportName, List<String> queries) throws IOException {
        send(OptionRequest.metaContext(option, exportName, queries));
        Map<Integer, String> contexts = new HashMap<>();
        while (true) {
            OptionReply reply = readReply(option);
            if (reply instanceof OptionReply.Ack) {
                return contexts;
            }
            if (reply instanceof OptionReply.MetaContext context) {
                if (option == NBD_OPT_SET_META_CONTEXT && contexts.containsKey(context.contextId())) {
                    throw new NbdProtocolException(uri + ": metadata context id " + context.contextId()
                            + " assigned twice");
                }
                contexts.put(option == NBD_OPT_SET_META_CONTEXT ? context.contextId() : contexts.size(),
                        context.name());
                continue;
            }
            if (reply instanceof OptionReply.Error error) {
                LOGGER.atDebug().addKeyValue("uri", uri).addKeyValue("option", NbdConstants.optionName(option))
                        .addKeyValue("reply", error.describe()).log("server refused metadata contexts");
                return Map.of();
            }
            throw unexpected(reply);
        }
    }

    List<String> listMetaContexts(String exportName, List<String> queries) throws IOException {
        Map<Integer, String> found = metaContexts(NBD_OPT_LIST_META_CONTEXT, exportName, queries);
        List<String> names = new ArrayList<>(found.values());
        Collections.sort(names);
        return names;
    }

    /** {@code NBD_OPT_GO} with {@code NBD_INFO_BLOCK_SIZE}; falls back to {@code NBD_OPT_EXPORT_NAME}. */
    Result go(String exportName, boolean structuredReplies, Map<Integer, String> contexts) throws IOException {
        send(OptionRequest.go(NBD_OPT_GO, exportName, NBD_INFO_BLOCK_SIZE, NBD_INFO_EXPORT));
        long size = -1;
        int flags = 0;
        BlockSize blockSize = BlockSize.defaults();
        while (true) {
            OptionReply reply = readReply(NBD_OPT_GO);
            if (reply instanceof OptionReply.InfoExport export) {
                size = export.size();
                flags = export.transmissionFlags();
            } else if (reply instanceof OptionReply.InfoBlockSize sizes) {
                blockSize = blockSize(sizes);
            } else if (reply instanceof OptionReply.InfoName || reply instanceof OptionReply.InfoDescription
                    || reply instanceof OptionReply.InfoUnknown) {
                LOGGER.atTrace().addKeyValue("uri", uri).addKeyValue("info", reply).log("ignoring export info");
            } else if (reply instanceof OptionReply.Ack) {
                if (size < 0) {
                    throw new NbdProtocolException(uri + ": NBD_OPT_GO succeeded without NBD_INFO_EXPORT");
                }
                return new Result(size, flags, blockSize, structuredReplies, contexts);
            } else if (reply instanceof OptionReply.Error error) {
                if (error.type() == NBD_REP_ERR_UNSUP) {
                    return exportName(exportName, structuredReplies, contexts);
                }
                throw new NbdException("server " + uri + " refused export '" + exportName + "': "
                        + error.describe());
            } else {
                throw unexpected(reply);
            }
        }
    }

    private BlockSize blockSize(OptionReply.InfoBlockSize sizes) throws NbdProtocolException {
        long min = sizes.minimum();
        long preferred = sizes.preferred();
        long max = sizes.maximum();
        if (min < 1 || min > 65536 || Long.bitCount(min) != 1 || preferred < 1 || preferred > Integer.MAX_VALUE
                || max < min) {
            throw new NbdProtocolException(uri + ": invalid NBD_INFO_BLOCK_SIZE minimum=" + min + " preferred="
                    + preferred + " maximum=" + max);
        }
        return new BlockSize((int) min, (int) preferred, max);
    }

    private Result exportName(String exportName, boolean structuredReplies, Map<Integer, String> contexts)
            throws IOException {
        send(OptionRequest.exportName(exportName));
        ByteBuffer reply = readExactly(10 + (noZeroes ? 0 : 124));
        long size = reply.getLong();
        int flags = reply.getShort() & 0xffff;
        if (size < 0) {
            throw new NbdProtocolException(uri + ": export size beyond 2^63");
        }
        return new Result(size, flags, BlockSize.defaults(), structuredReplies, contexts);
    }

    /** {@code NBD_OPT_ABORT}; the reply, if any, is not awaited. */
    void abort() {
        try {
            send(OptionRequest.abort());
            if (uri.isTls()) {
                channel.shutdownOutput(); // the client shuts TLS down after NBD_OPT_ABORT
            }
        } catch (IOException e) {
            LOGGER.atDebug().addKeyValue("uri", uri).setCause(e).log("NBD_OPT_ABORT not sent");
        }
    }

    private NbdProtocolException unexpected(OptionReply reply) {
        return new NbdProtocolException(uri + ": unexpected option reply " + reply);
    }

    private void send(OptionRequest request) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(request.size());
        request.encode(out);
        write(out.flip());
    }

    private OptionReply readReply(int option) throws IOException {
        header.clear();
        readFully(header);
        header.flip();
        OptionReplyHeader replyHeader = OptionReplyHeader.decode(header, option, OptionReply.MAX_OPTION_REPLY_LENGTH);
        ByteBuffer data = readExactly((int) replyHeader.length());
        OptionReply reply = OptionReply.decode(replyHeader, data);
        if (reply instanceof OptionReply.Error error && error.type() == NBD_REP_ERR_TLS_REQD) {
            throw tlsRequired(option, error);
        }
        return reply;
    }

    /** {@code NBD_REP_ERR_TLS_REQD}: the plaintext client must use an nbds URI. */
    private NbdException tlsRequired(int option, OptionReply.Error error) {
        if (uri.isTls()) {
            return new NbdProtocolException(uri + ": server replied NBD_REP_ERR_TLS_REQD to "
                    + NbdConstants.optionName(option) + " although TLS is running");
        }
        String message = error.message() == null || error.message().isEmpty() ? "" : " (server says: "
                + error.message() + ")";
        String what = option == NBD_OPT_GO ? " for export '" + uri.exportName() + "' (or it has no such export)" : "";
        return new NbdException("cannot negotiate with " + uri + ": server requires TLS (use nbds://)" + what
                + (uri.isUnix() ? "; over a Unix socket: nbds+unix:///EXPORT?socket=PATH&tls-certificates=DIR" : "")
                + message);
    }

    private void write(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private ByteBuffer readExactly(int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        readFully(buffer);
        return buffer.flip();
    }

    private void readFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new NbdException("server " + uri + " closed the connection during the handshake"
                        + (tlsRunning ? Tls.closedAfterHandshakeHint(uri) : ""), new EOFException());
            }
        }
    }

    static boolean canMultiConn(Result result) {
        return result.has(NBD_FLAG_CAN_MULTI_CONN);
    }
}
