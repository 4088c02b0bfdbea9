package io.chainsync.nbd.protocol;

/**
 * Constants of the NBD protocol, named exactly as in the specification
 * (<a href="https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md">doc/proto.md</a>).
 *
 * <p>All multi-byte values travel in network byte order (big endian), which is the default order of
 * {@link java.nio.ByteBuffer}.
 */
public final class NbdConstants {

    private NbdConstants() {
        throw new AssertionError("no instances");
    }

    // ---------------------------------------------------------------- magics

    /** First 8 bytes sent by a server: ASCII "NBDMAGIC". */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** Newstyle negotiation magic, ASCII "IHAVEOPT"; also prefixes every option request. */
    public static final long IHAVEOPT = 0x49484156454f5054L;
    /** Oldstyle negotiation magic (not supported by this client). */
    public static final long NBD_CLISERV_MAGIC = 0x00420281861253L;
    /** Magic prefixing every option reply. */
    public static final long NBD_OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    /** Magic prefixing every transmission request. */
    public static final int NBD_REQUEST_MAGIC = 0x25609513;
    /** Magic prefixing every simple reply (historically {@code NBD_REPLY_MAGIC}). */
    public static final int NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
    /** Magic prefixing every structured reply chunk. */
    public static final int NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    // ---------------------------------------------------------------- handshake flags (16 bits, server)

    public static final int NBD_FLAG_FIXED_NEWSTYLE = 1;
    public static final int NBD_FLAG_NO_ZEROES = 1 << 1;

    // ---------------------------------------------------------------- client flags (32 bits)

    public static final int NBD_FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int NBD_FLAG_C_NO_ZEROES = 1 << 1;

    // ---------------------------------------------------------------- transmission flags (16 bits)

    public static final int NBD_FLAG_HAS_FLAGS = 1;
    public static final int NBD_FLAG_READ_ONLY = 1 << 1;
    public static final int NBD_FLAG_SEND_FLUSH = 1 << 2;
    public static final int NBD_FLAG_SEND_FUA = 1 << 3;
    public static final int NBD_FLAG_ROTATIONAL = 1 << 4;
    public static final int NBD_FLAG_SEND_TRIM = 1 << 5;
    public static final int NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int NBD_FLAG_SEND_DF = 1 << 7;
    public static final int NBD_FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int NBD_FLAG_SEND_RESIZE = 1 << 9;
    public static final int NBD_FLAG_SEND_CACHE = 1 << 10;
    public static final int NBD_FLAG_SEND_FAST_ZERO = 1 << 11;
    public static final int NBD_FLAG_BLOCK_STAT_PAYLOAD = 1 << 12;

    // ---------------------------------------------------------------- options

    public static final int NBD_OPT_EXPORT_NAME = 1;
    public static final int NBD_OPT_ABORT = 2;
    public static final int NBD_OPT_LIST = 3;
    public static final int NBD_OPT_PEEK_EXPORT = 4;
    public static final int NBD_OPT_STARTTLS = 5;
    public static final int NBD_OPT_INFO = 6;
    public static final int NBD_OPT_GO = 7;
    public static final int NBD_OPT_STRUCTURED_REPLY = 8;
    public static final int NBD_OPT_LIST_META_CONTEXT = 9;
    public static final int NBD_OPT_SET_META_CONTEXT = 10;
    public static final int NBD_OPT_EXTENDED_HEADERS = 11;

    // ---------------------------------------------------------------- option reply types

    /** Bit 31 marks every error reply type. */
    public static final int NBD_REP_FLAG_ERROR = 1 << 31;
    public static final int NBD_REP_ACK = 1;
    public static final int NBD_REP_SERVER = 2;
    public static final int NBD_REP_INFO = 3;
    public static final int NBD_REP_META_CONTEXT = 4;
    public static final int NBD_REP_ERR_UNSUP = NBD_REP_FLAG_ERROR | 1;
    public static final int NBD_REP_ERR_POLICY = NBD_REP_FLAG_ERROR | 2;
    public static final int NBD_REP_ERR_INVALID = NBD_REP_FLAG_ERROR | 3;
    public static final int NBD_REP_ERR_PLATFORM = NBD_REP_FLAG_ERROR | 4;
    public static final int NBD_REP_ERR_TLS_REQD = NBD_REP_FLAG_ERROR | 5;
    public static final int NBD_REP_ERR_UNKNOWN = NBD_REP_FLAG_ERROR | 6;
    public static final int NBD_REP_ERR_SHUTDOWN = NBD_REP_FLAG_ERROR | 7;
    public static final int NBD_REP_ERR_BLOCK_SIZE_REQD = NBD_REP_FLAG_ERROR | 8;
    public static final int NBD_REP_ERR_TOO_BIG = NBD_REP_FLAG_ERROR | 9;
    public static final int NBD_REP_ERR_EXT_HEADER_REQD = NBD_REP_FLAG_ERROR | 10;

    // ---------------------------------------------------------------- NBD_INFO types

    public static final int NBD_INFO_EXPORT = 0;
    public static final int NBD_INFO_NAME = 1;
    public static final int NBD_INFO_DESCRIPTION = 2;
    public static final int NBD_INFO_BLOCK_SIZE = 3;

    // ---------------------------------------------------------------- commands

    public static final int NBD_CMD_READ = 0;
    public static final int NBD_CMD_WRITE = 1;
    public static final int NBD_CMD_DISC = 2;
    public static final int NBD_CMD_FLUSH = 3;
    public static final int NBD_CMD_TRIM = 4;
    public static final int NBD_CMD_CACHE = 5;
    public static final int NBD_CMD_WRITE_ZEROES = 6;
    public static final int NBD_CMD_BLOCK_STATUS = 7;
    public static final int NBD_CMD_RESIZE = 8;

    // ---------------------------------------------------------------- command flags (16 bits)

    public static final int NBD_CMD_FLAG_FUA = 1;
    public static final int NBD_CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int NBD_CMD_FLAG_DF = 1 << 2;
    public static final int NBD_CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int NBD_CMD_FLAG_FAST_ZERO = 1 << 4;

    // ---------------------------------------------------------------- structured reply flags and types

    public static final int NBD_REPLY_FLAG_DONE = 1;

    public static final int NBD_REPLY_TYPE_NONE = 0;
    public static final int NBD_REPLY_TYPE_OFFSET_DATA = 1;
    public static final int NBD_REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int NBD_REPLY_TYPE_BLOCK_STATUS = 5;
    /** Bit 15 marks every error chunk type. */
    public static final int NBD_REPLY_TYPE_ERROR_BIT = 1 << 15;
    public static final int NBD_REPLY_TYPE_ERROR = NBD_REPLY_TYPE_ERROR_BIT | 1;
    public static final int NBD_REPLY_TYPE_ERROR_OFFSET = NBD_REPLY_TYPE_ERROR_BIT | 2;

    // ---------------------------------------------------------------- errors

    public static final int NBD_EPERM = 1;
    public static final int NBD_EIO = 5;
    public static final int NBD_ENOMEM = 12;
    public static final int NBD_EINVAL = 22;
    public static final int NBD_ENOSPC = 28;
    public static final int NBD_EOVERFLOW = 75;
    public static final int NBD_ENOTSUP = 95;
    public static final int NBD_ESHUTDOWN = 108;

    // ---------------------------------------------------------------- metadata contexts
    // Context names and their state bits are the decision core's: io.chainsync.core.MetaContexts.
    // This client negotiates whatever names it is given and passes flags through untouched.

    // ---------------------------------------------------------------- sizes

    /** Size of a request header on the wire. */
    public static final int REQUEST_HEADER_SIZE = 28;
    /** Size of a simple reply header on the wire. */
    public static final int SIMPLE_REPLY_HEADER_SIZE = 16;
    /** Size of a structured reply chunk header on the wire. */
    public static final int STRUCTURED_REPLY_HEADER_SIZE = 20;
    /** Size of an option request header (magic, option, length). */
    public static final int OPTION_REQUEST_HEADER_SIZE = 16;
    /** Size of an option reply header (magic, option, type, length). */
    public static final int OPTION_REPLY_HEADER_SIZE = 20;
    /** Maximum length of any string in the protocol (export names, messages, context names). */
    public static final int NBD_MAX_STRING = 4096;
    /** Default maximum payload when the server advertises no block size constraints: 2^25. */
    public static final int DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024;
    /** Servers SHOULD NOT send more extents than this in one block status chunk. */
    public static final int MAX_EXTENTS_PER_CHUNK = 1 << 20;

    // ---------------------------------------------------------------- names

    public static String commandName(int type) {
        return switch (type) {
            case NBD_CMD_READ -> "NBD_CMD_READ";
            case NBD_CMD_WRITE -> "NBD_CMD_WRITE";
            case NBD_CMD_DISC -> "NBD_CMD_DISC";
            case NBD_CMD_FLUSH -> "NBD_CMD_FLUSH";
            case NBD_CMD_TRIM -> "NBD_CMD_TRIM";
            case NBD_CMD_CACHE -> "NBD_CMD_CACHE";
            case NBD_CMD_WRITE_ZEROES -> "NBD_CMD_WRITE_ZEROES";
            case NBD_CMD_BLOCK_STATUS -> "NBD_CMD_BLOCK_STATUS";
            case NBD_CMD_RESIZE -> "NBD_CMD_RESIZE";
            default -> "NBD_CMD_" + type;
        };
    }

    public static String optionName(int option) {
        return switch (option) {
            case NBD_OPT_EXPORT_NAME -> "NBD_OPT_EXPORT_NAME";
            case NBD_OPT_ABORT -> "NBD_OPT_ABORT";
            case NBD_OPT_LIST -> "NBD_OPT_LIST";
            case NBD_OPT_PEEK_EXPORT -> "NBD_OPT_PEEK_EXPORT";
            case NBD_OPT_STARTTLS -> "NBD_OPT_STARTTLS";
            case NBD_OPT_INFO -> "NBD_OPT_INFO";
            case NBD_OPT_GO -> "NBD_OPT_GO";
            case NBD_OPT_STRUCTURED_REPLY -> "NBD_OPT_STRUCTURED_REPLY";
            case NBD_OPT_LIST_META_CONTEXT -> "NBD_OPT_LIST_META_CONTEXT";
            case NBD_OPT_SET_META_CONTEXT -> "NBD_OPT_SET_META_CONTEXT";
            case NBD_OPT_EXTENDED_HEADERS -> "NBD_OPT_EXTENDED_HEADERS";
            default -> "NBD_OPT_" + Integer.toUnsignedString(option);
        };
    }

    public static String optionReplyName(int type) {
        return switch (type) {
            case NBD_REP_ACK -> "NBD_REP_ACK";
            case NBD_REP_SERVER -> "NBD_REP_SERVER";
            case NBD_REP_INFO -> "NBD_REP_INFO";
            case NBD_REP_META_CONTEXT -> "NBD_REP_META_CONTEXT";
            case NBD_REP_ERR_UNSUP -> "NBD_REP_ERR_UNSUP";
            case NBD_REP_ERR_POLICY -> "NBD_REP_ERR_POLICY";
            case NBD_REP_ERR_INVALID -> "NBD_REP_ERR_INVALID";
            case NBD_REP_ERR_PLATFORM -> "NBD_REP_ERR_PLATFORM";
            case NBD_REP_ERR_TLS_REQD -> "NBD_REP_ERR_TLS_REQD";
            case NBD_REP_ERR_UNKNOWN -> "NBD_REP_ERR_UNKNOWN";
            case NBD_REP_ERR_SHUTDOWN -> "NBD_REP_ERR_SHUTDOWN";
            case NBD_REP_ERR_BLOCK_SIZE_REQD -> "NBD_REP_ERR_BLOCK_SIZE_REQD";
            case NBD_REP_ERR_TOO_BIG -> "NBD_REP_ERR_TOO_BIG";
            case NBD_REP_ERR_EXT_HEADER_REQD -> "NBD_REP_ERR_EXT_HEADER_REQD";
            default -> "NBD_REP_" + Integer.toUnsignedString(type);
        };
    }

    public static String replyTypeName(int type) {
        return switch (type) {
            case NBD_REPLY_TYPE_NONE -> "NBD_REPLY_TYPE_NONE";
            case NBD_REPLY_TYPE_OFFSET_DATA -> "NBD_REPLY_TYPE_OFFSET_DATA";
            case NBD_REPLY_TYPE_OFFSET_HOLE -> "NBD_REPLY_TYPE_OFFSET_HOLE";
            case NBD_REPLY_TYPE_BLOCK_STATUS -> "NBD_REPLY_TYPE_BLOCK_STATUS";
            case NBD_REPLY_TYPE_ERROR -> "NBD_REPLY_TYPE_ERROR";
            case NBD_REPLY_TYPE_ERROR_OFFSET -> "NBD_REPLY_TYPE_ERROR_OFFSET";
            default -> "NBD_REPLY_TYPE_" + type;
        };
    }

    /** Name of an NBD error value, e.g. {@code "EIO"}; unknown values give {@code "errno 42"}. */
    public static String errnoName(int error) {
        return switch (error) {
            case NBD_EPERM -> "EPERM";
            case NBD_EIO -> "EIO";
            case NBD_ENOMEM -> "ENOMEM";
            case NBD_EINVAL -> "EINVAL";
            case NBD_ENOSPC -> "ENOSPC";
            case NBD_EOVERFLOW -> "EOVERFLOW";
            case NBD_ENOTSUP -> "ENOTSUP";
            case NBD_ESHUTDOWN -> "ESHUTDOWN";
            default -> "errno " + Integer.toUnsignedString(error);
        };
    }
}
