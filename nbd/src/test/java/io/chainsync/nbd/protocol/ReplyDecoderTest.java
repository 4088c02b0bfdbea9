package io.chainsync.nbd.protocol;

import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_BLOCK_STATUS;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_FLAG_REQ_ONE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_READ;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_CMD_WRITE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_EIO;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_FLAG_DONE;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_ERROR;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_ERROR_OFFSET;
import static io.chainsync.nbd.protocol.NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReplyDecoderTest {

    private final Map<Long, RequestHeader> requests = new HashMap<>();
    private final Map<Integer, String> contexts = Map.of(7, "base:allocation");

    private ReplyDecoder decoder(boolean structured, ReplyDecoder.DataMode mode) {
        return new ReplyDecoder(structured, requests::get, contexts::get, new ReplyDecoder.Limits(1 << 20, 16), mode);
    }

    private ReplyDecoder structured() {
        return decoder(true, ReplyDecoder.DataMode.INLINE);
    }

    private static ByteBuffer encode(Reply... replies) {
        ByteBuffer out = ByteBuffer.allocate(1 << 16);
        for (Reply reply : replies) {
            reply.encode(out);
        }
        return out.flip();
    }

    private static ByteBuffer data(int length, int seed) {
        ByteBuffer data = ByteBuffer.allocate(length);
        for (int i = 0; i < length; i++) {
            data.put(i, (byte) (seed + i));
        }
        return data;
    }

    @Test
    void decodesOffsetDataAndCopiesData() throws Exception {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 4096, 1024));
        Reply.OffsetData sent = new Reply.OffsetData(1, NBD_REPLY_FLAG_DONE, 4096 + 512, 512, data(512, 3));
        ByteBuffer in = encode(sent);
        Reply.OffsetData got = (Reply.OffsetData) structured().decode(in);
        assertEquals(4096 + 512, got.offset());
        assertEquals(512, got.dataLength());
        assertEquals(sent.data(), got.data());
        assertTrue(got.done());
        assertEquals(0, in.remaining());
    }

    @Test
    void partialInputNeedsMoreAndConsumesNothing() throws Exception {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 0, 1024));
        ByteBuffer whole = encode(new Reply.OffsetData(1, NBD_REPLY_FLAG_DONE, 0, 1024, data(1024, 0)));
        ReplyDecoder decoder = structured();
        for (int cut : new int[] {0, 3, 19, 20, whole.remaining() - 1}) {
            ByteBuffer partial = whole.duplicate().limit(cut);
            assertNull(decoder.decode(partial), "cut at " + cut);
            assertEquals(0, partial.position(), "nothing consumed at " + cut);
            assertTrue(decoder.bytesNeeded() > cut, "needs more than " + cut);
        }
        assertEquals(20 + 8 + 1024, decoder.bytesNeeded());
        assertInstanceOf(Reply.OffsetData.class, decoder.decode(whole));
    }

    @Test
    void twoRepliesInOneBuffer() throws Exception {
        requests.put(1L, new RequestHeader(0, NBD_CMD_WRITE, 1, 0, 512));
        requests.put(2L, new RequestHeader(0, NBD_CMD_BLOCK_STATUS, 2, 0, 1 << 20));
        ByteBuffer in = encode(new Reply.Simple(1, 0, 0, null),
                new Reply.BlockStatus(2, NBD_REPLY_FLAG_DONE, 7, List.of(new BlockStatusExtent(4096, 3),
                        new BlockStatusExtent(4096, 3), new BlockStatusExtent(8192, 0))));
        ReplyDecoder decoder = structured();
        Reply.Simple simple = (Reply.Simple) decoder.decode(in);
        assertEquals(1, simple.cookie());
        Reply.BlockStatus status = (Reply.BlockStatus) decoder.decode(in);
        assertEquals(List.of(new BlockStatusExtent(8192, 3), new BlockStatusExtent(8192, 0)), status.extents(),
                "adjacent equal extents merged");
        assertNull(decoder.decode(in));
    }

    @Test
    void simpleReadReplyWithoutStructuredReplies() throws Exception {
        requests.put(9L, new RequestHeader(0, NBD_CMD_READ, 9, 0, 256));
        ByteBuffer in = encode(new Reply.Simple(9, 0, 256, data(256, 1)));
        ReplyDecoder decoder = decoder(false, ReplyDecoder.DataMode.INLINE);
        assertNull(decoder.decode(in.duplicate().limit(100)));
        assertEquals(16 + 256, decoder.bytesNeeded());
        Reply.Simple reply = (Reply.Simple) decoder.decode(in);
        assertEquals(data(256, 1), reply.data());
    }

    @Test
    void streamModeLeavesDataToTheCaller() throws Exception {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 0, 1024));
        ByteBuffer in = encode(new Reply.OffsetData(1, 0, 0, 1024, data(1024, 0)),
                new Reply.None(1, NBD_REPLY_FLAG_DONE));
        ReplyDecoder decoder = decoder(true, ReplyDecoder.DataMode.STREAM);
        Reply.OffsetData head = (Reply.OffsetData) decoder.decode(in);
        assertNull(head.data());
        assertEquals(28, in.position());
        assertThrows(IllegalStateException.class, () -> decoder.decode(in));
        byte[] taken = new byte[head.dataLength()];
        in.get(taken);
        assertArrayEquals(data(1024, 0).array(), taken);
        decoder.dataConsumed();
        assertInstanceOf(Reply.None.class, decoder.decode(in));
    }

    @Test
    void errorChunksCarryErrnoMessageAndOffset() throws Exception {
        requests.put(4L, new RequestHeader(0, NBD_CMD_READ, 4, 0, 4096));
        ByteBuffer in = encode(new Reply.Error(4, 0, NBD_REPLY_TYPE_ERROR_OFFSET, NBD_EIO, "bad sector", 512),
                new Reply.Error(4, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, NBD_EIO, "", -1));
        ReplyDecoder decoder = structured();
        Reply.Error first = (Reply.Error) decoder.decode(in);
        assertEquals("bad sector", first.message());
        assertEquals(512, first.offset());
        Reply.Error second = (Reply.Error) decoder.decode(in);
        assertEquals(NBD_EIO, second.error());
        assertTrue(second.done());
    }

    // ---------------------------------------------------------------- malformed input

    private void assertMalformed(ByteBuffer in, String messagePart) {
        ReplyDecoder decoder = structured();
        NbdProtocolException e = assertThrows(NbdProtocolException.class, () -> decoder.decode(in));
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
        assertTrue(decoder.failed());
        assertThrows(NbdProtocolException.class, () -> decoder.decode(ByteBuffer.allocate(0)), "stays failed");
    }

    @Test
    void badMagic() {
        assertMalformed(ByteBuffer.allocate(16).putInt(0x12345678).flip(), "bad reply magic");
    }

    @Test
    void unknownCookie() {
        assertMalformed(encode(new Reply.Simple(77, 0, 0, null)), "unknown cookie");
    }

    @Test
    void oversizedLengthFailsBeforeThePayloadArrives() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 0, 1024));
        ByteBuffer in = ByteBuffer.allocate(20);
        new StructuredReplyHeader(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, 1, 0xffff_ffffL).encode(in);
        assertMalformed(in.flip(), "exceeds the limit");
    }

    @Test
    void offsetDataOutsideRequest() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 4096, 1024));
        assertMalformed(encode(new Reply.OffsetData(1, 0, 4096 + 1000, 100, data(100, 0))), "outside the request");
    }

    @Test
    void holeOutsideRequest() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 4096, 1024));
        assertMalformed(encode(new Reply.OffsetHole(1, 0, 0, 512)), "outside the request");
    }

    @Test
    void unknownContextId() {
        requests.put(2L, new RequestHeader(0, NBD_CMD_BLOCK_STATUS, 2, 0, 4096));
        assertMalformed(encode(new Reply.BlockStatus(2, NBD_REPLY_FLAG_DONE, 8, List.of(new BlockStatusExtent(4096, 0)))),
                "not negotiated");
    }

    @Test
    void zeroLengthExtent() {
        requests.put(2L, new RequestHeader(0, NBD_CMD_BLOCK_STATUS, 2, 0, 4096));
        ByteBuffer in = ByteBuffer.allocate(64);
        new StructuredReplyHeader(NBD_REPLY_FLAG_DONE, NbdConstants.NBD_REPLY_TYPE_BLOCK_STATUS, 2, 12).encode(in);
        in.putInt(7).putInt(0).putInt(0);
        assertMalformed(in.flip(), "zero length");
    }

    @Test
    void tooManyExtents() {
        requests.put(2L, new RequestHeader(0, NBD_CMD_BLOCK_STATUS, 2, 0, 1 << 30));
        ByteBuffer in = ByteBuffer.allocate(20);
        new StructuredReplyHeader(NBD_REPLY_FLAG_DONE, NbdConstants.NBD_REPLY_TYPE_BLOCK_STATUS, 2, 4 + 8 * 17)
                .encode(in);
        assertMalformed(in.flip(), "exceeds the limit");
    }

    @Test
    void reqOneWithTwoExtents() {
        requests.put(2L, new RequestHeader(NBD_CMD_FLAG_REQ_ONE, NBD_CMD_BLOCK_STATUS, 2, 0, 8192));
        assertMalformed(encode(new Reply.BlockStatus(2, NBD_REPLY_FLAG_DONE, 7,
                List.of(new BlockStatusExtent(4096, 0), new BlockStatusExtent(4096, 1)))), "NBD_CMD_FLAG_REQ_ONE");
    }

    @Test
    void structuredChunkWithBadLength() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 0, 4096));
        ByteBuffer in = ByteBuffer.allocate(40);
        new StructuredReplyHeader(NBD_REPLY_FLAG_DONE, NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE, 1, 8).encode(in);
        in.putLong(0);
        assertMalformed(in.flip(), "must be 12");
    }

    @Test
    void noneChunkWithoutDone() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 0, 4096));
        assertMalformed(encode(new Reply.None(1, 0)), "without NBD_REPLY_FLAG_DONE");
    }

    @Test
    void chunkTypeInvalidForCommand() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_WRITE, 1, 0, 4096));
        assertMalformed(encode(new Reply.OffsetHole(1, NBD_REPLY_FLAG_DONE, 0, 512)), "not valid as a reply");
    }

    @Test
    void errorMessageLongerThanChunk() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 0, 4096));
        ByteBuffer in = ByteBuffer.allocate(40);
        new StructuredReplyHeader(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, 1, 8).encode(in);
        in.putInt(NBD_EIO).putShort((short) 10).putShort((short) 0);
        assertMalformed(in.flip(), "does not fit");
    }

    @Test
    void structuredReplyWhenNotNegotiated() {
        requests.put(1L, new RequestHeader(0, NBD_CMD_READ, 1, 0, 4096));
        ReplyDecoder decoder = decoder(false, ReplyDecoder.DataMode.INLINE);
        assertThrows(NbdProtocolException.class, () -> decoder.decode(encode(new Reply.None(1, NBD_REPLY_FLAG_DONE))));
    }

    @Test
    void readCoverageRefusesOverlapAndTracksCompletion() throws Exception {
        ReadCoverage coverage = new ReadCoverage(1000, 300);
        coverage.add(1100, 100);
        coverage.add(1000, 100);
        assertThrows(NbdProtocolException.class, () -> coverage.add(1150, 100));
        assertEquals(false, coverage.complete());
        coverage.add(1200, 100);
        assertTrue(coverage.complete());
        assertThrows(NbdProtocolException.class, () -> new ReadCoverage(0, 10).add(5, 10));
    }
}
