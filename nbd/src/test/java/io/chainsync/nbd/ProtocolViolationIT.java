package io.chainsync.nbd;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdProtocolException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that negotiates correctly, then answers the first request with bytes chosen by the
 * test: the client must fail the request with a protocol error and refuse further requests.
 */
class ProtocolViolationIT {

    @TempDir
    Path tmp;

    @Test
    void badReplyMagic() throws Exception {
        assertProtocolError(request -> ByteBuffer.allocate(16).putInt(0x12345678).putInt(0).putLong(request.cookie()));
    }

    @Test
    void replyForAnUnknownCookie() throws Exception {
        assertProtocolError(request -> ByteBuffer.allocate(16).putInt(NbdConstants.NBD_SIMPLE_REPLY_MAGIC).putInt(0)
                .putLong(request.cookie() + 1000));
    }

    @Test
    void offsetDataOutsideTheRequest() throws Exception {
        assertProtocolError(request -> {
            ByteBuffer b = ByteBuffer.allocate(20 + 8 + 512);
            b.putInt(NbdConstants.NBD_STRUCTURED_REPLY_MAGIC).putShort((short) NbdConstants.NBD_REPLY_FLAG_DONE)
                    .putShort((short) NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA).putLong(request.cookie())
                    .putInt(8 + 512);
            b.putLong(request.offset() + request.length()); // just past the request
            return b.position(b.capacity());
        });
    }

    @Test
    void oversizedChunkLength() throws Exception {
        assertProtocolError(request -> ByteBuffer.allocate(20).putInt(NbdConstants.NBD_STRUCTURED_REPLY_MAGIC)
                .putShort((short) NbdConstants.NBD_REPLY_FLAG_DONE)
                .putShort((short) NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA).putLong(request.cookie()).putInt(-1));
    }

    @Test
    void readCoveredOnlyPartly() throws Exception {
        assertProtocolError(request -> {
            ByteBuffer b = ByteBuffer.allocate(20 + 12);
            b.putInt(NbdConstants.NBD_STRUCTURED_REPLY_MAGIC).putShort((short) NbdConstants.NBD_REPLY_FLAG_DONE)
                    .putShort((short) NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE).putLong(request.cookie()).putInt(12);
            b.putLong(request.offset()).putInt((int) request.length() / 2);
            return b;
        });
    }

    private void assertProtocolError(Function<FakeNbdServer.Request, ByteBuffer> reply) throws Exception {
        try (FakeNbdServer server = FakeNbdServer.start(tmp.resolve("fake.sock"), c -> {
                    FakeNbdServer.negotiate(c);
                    FakeNbdServer.write(c, reply.apply(FakeNbdServer.readRequest(c)));
                    FakeNbdServer.read(c, 1); // hold the connection until the client closes it
                });
                NbdClient client = NbdClient.connect(server.uri(),
                        NbdClient.Options.defaults().withMetaContexts(java.util.List.of("base:allocation")))) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> client.read(4096, ByteBuffer.allocate(4096)).get());
            assertInstanceOf(NbdProtocolException.class, e.getCause(), String.valueOf(e.getCause()));
            IllegalStateException after = assertThrows(IllegalStateException.class,
                    () -> client.read(0, ByteBuffer.allocate(512)));
            assertTrue(after.getMessage().contains("Failed"), after.getMessage());
        }
    }
}
