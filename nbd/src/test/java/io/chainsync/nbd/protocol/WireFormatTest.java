package io.chainsync.nbd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Encode/decode of every record against hand-written wire bytes from the spec's layouts. */
class WireFormatTest {

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    @Test
    void requestHeader() throws Exception {
        RequestHeader header = new RequestHeader(NbdConstants.NBD_CMD_FLAG_FUA, NbdConstants.NBD_CMD_WRITE,
                0x0102030405060708L, 0x1000, 0x200);
        ByteBuffer out = ByteBuffer.allocate(28);
        header.encode(out);
        assertArrayEquals(HexFormat.of().parseHex("25609513" + "0001" + "0001" + "0102030405060708"
                + "0000000000001000" + "00000200"), out.array());
        assertEquals(header, RequestHeader.decode(out.flip()));
        assertThrows(IllegalArgumentException.class, () -> new RequestHeader(0, 0, 0, 0, 1L << 32));
    }

    @Test
    void simpleAndStructuredHeaders() throws Exception {
        ByteBuffer out = ByteBuffer.allocate(36);
        new SimpleReplyHeader(5, 9).encode(out);
        new StructuredReplyHeader(1, 2, 9, 12).encode(out);
        out.flip();
        assertEquals("67446698" + "00000005" + "0000000000000009" + "668e33ef" + "0001" + "0002"
                + "0000000000000009" + "0000000c", HexFormat.of().formatHex(bytes(out.duplicate())));
        assertEquals(new SimpleReplyHeader(5, 9), SimpleReplyHeader.decode(out));
        assertEquals(new StructuredReplyHeader(1, 2, 9, 12), StructuredReplyHeader.decode(out));
    }

    @Test
    void optionRequests() throws Exception {
        OptionRequest go = OptionRequest.go(NbdConstants.NBD_OPT_GO, "ex", NbdConstants.NBD_INFO_BLOCK_SIZE);
        ByteBuffer out = ByteBuffer.allocate(go.size());
        go.encode(out);
        assertEquals("49484156454f5054" + "00000007" + "0000000a" + "00000002" + "6578" + "0001" + "0003",
                HexFormat.of().formatHex(out.array()));
        assertEquals(go, OptionRequest.decode(out.flip()));

        OptionRequest set = OptionRequest.metaContext(NbdConstants.NBD_OPT_SET_META_CONTEXT, "",
                List.of("base:allocation"));
        ByteBuffer data = set.data();
        assertEquals(0, data.getInt(0));
        assertEquals(1, data.getInt(4));
        assertEquals(15, data.getInt(8));
    }

    @Test
    void optionRepliesRoundTrip() throws Exception {
        int go = NbdConstants.NBD_OPT_GO;
        List<OptionReply> replies = List.of(new OptionReply.Ack(go),
                new OptionReply.InfoExport(go, 1 << 20, 0x1234),
                new OptionReply.InfoBlockSize(go, 1, 4096, 0xffff_ffffL),
                new OptionReply.InfoName(go, "name"), new OptionReply.InfoDescription(go, "desc"),
                new OptionReply.MetaContext(NbdConstants.NBD_OPT_SET_META_CONTEXT, 3, "qemu:allocation-depth"),
                new OptionReply.Server(NbdConstants.NBD_OPT_LIST, "export", "details"),
                new OptionReply.Error(go, NbdConstants.NBD_REP_ERR_UNKNOWN, "no such export"));
        for (OptionReply reply : replies) {
            ByteBuffer out = ByteBuffer.allocate(256);
            reply.encode(out);
            out.flip();
            OptionReplyHeader header = OptionReplyHeader.decode(out, reply.option(), 1024);
            assertEquals(reply, OptionReply.decode(header, out.slice()), reply.toString());
        }
    }

    @Test
    void optionReplyChecks() {
        ByteBuffer out = ByteBuffer.allocate(64);
        new OptionReplyHeader(NbdConstants.NBD_OPT_GO, NbdConstants.NBD_REP_INFO, 5000).encode(out);
        assertThrows(NbdProtocolException.class,
                () -> OptionReplyHeader.decode(out.flip(), NbdConstants.NBD_OPT_GO, 4096), "over the cap");
        assertThrows(NbdProtocolException.class,
                () -> OptionReplyHeader.decode(out.rewind(), NbdConstants.NBD_OPT_INFO, 1 << 20), "wrong option");
        ByteBuffer bad = ByteBuffer.allocate(64);
        new OptionReplyHeader(NbdConstants.NBD_OPT_GO, NbdConstants.NBD_REP_INFO, 4).encode(bad);
        bad.putShort((short) NbdConstants.NBD_INFO_EXPORT).putShort((short) 0).flip();
        assertThrows(NbdProtocolException.class, () -> OptionReply.decode(
                OptionReplyHeader.decode(bad, NbdConstants.NBD_OPT_GO, 64), bad.slice()), "INFO_EXPORT length");
    }

    @Test
    void chunkPayloadsRoundTrip() throws Exception {
        List<Reply> chunks = List.of(new Reply.None(3, 1),
                new Reply.OffsetHole(3, 0, 4096, 512),
                new Reply.BlockStatus(3, 1, 7, List.of(new BlockStatusExtent(0xffff_ffffL, 3))),
                new Reply.Error(3, 1, NbdConstants.NBD_REPLY_TYPE_ERROR, NbdConstants.NBD_ENOSPC, "full", -1),
                new Reply.Error(3, 1, NbdConstants.NBD_REPLY_TYPE_ERROR_OFFSET, NbdConstants.NBD_EIO, "", 8));
        for (Reply chunk : chunks) {
            ByteBuffer out = ByteBuffer.allocate(256);
            chunk.encode(out);
            out.flip();
            StructuredReplyHeader header = StructuredReplyHeader.decode(out);
            assertEquals(chunk, Reply.decodeChunk(header, out.slice(), 16), chunk.toString());
        }
        ByteBuffer data = ByteBuffer.allocate(64);
        new Reply.OffsetData(3, 1, 100, 3, ByteBuffer.wrap(new byte[] {1, 2, 3})).encode(data);
        data.flip();
        Reply.OffsetData decoded = (Reply.OffsetData) Reply.decodeChunk(StructuredReplyHeader.decode(data),
                data.slice(), 16);
        assertEquals(100, decoded.offset());
        assertArrayEquals(new byte[] {1, 2, 3}, bytes(decoded.data()));
    }

    @Test
    void requestExceptionNamesErrno() {
        NbdRequestException e = new NbdRequestException("NBD_CMD_READ offset=0 length=512", NbdConstants.NBD_EIO,
                "disk on fire");
        assertEquals("NBD_CMD_READ offset=0 length=512 failed: EIO: disk on fire", e.getMessage());
        assertEquals("ENOTSUP", NbdConstants.errnoName(95));
    }
}
