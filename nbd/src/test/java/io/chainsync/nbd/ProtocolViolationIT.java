package io.chainsync.nbd;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdProtocolException;
import io.chainsync.nbd.protocol.OptionReply;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
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
        assertProtocolError(request -> ByteBuffer.allocate(16).putInt(0x12345678).putInt(0).putLong(request.cookie));
    }

    @Test
    void replyForAnUnknownCookie() throws Exception {
        assertProtocolError(request -> ByteBuffer.allocate(16).putInt(NbdConstants.NBD_SIMPLE_REPLY_MAGIC).putInt(0)
                .putLong(request.cookie + 1000));
    }

    @Test
    void offsetDataOutsideTheRequest() throws Exception {
        assertProtocolError(request -> {
            ByteBuffer b = ByteBuffer.allocate(20 + 8 + 512);
            b.putInt(NbdConstants.NBD_STRUCTURED_REPLY_MAGIC).putShort((short) NbdConstants.NBD_REPLY_FLAG_DONE)
                    .putShort((short) NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA).putLong(request.cookie).putInt(8 + 512);
            b.putLong(request.offset + request.length); // just past the request
            return b.position(b.capacity());
        });
    }

    @Test
    void oversizedChunkLength() throws Exception {
        assertProtocolError(request -> ByteBuffer.allocate(20).putInt(NbdConstants.NBD_STRUCTURED_REPLY_MAGIC)
                .putShort((short) NbdConstants.NBD_REPLY_FLAG_DONE)
                .putShort((short) NbdConstants.NBD_REPLY_TYPE_OFFSET_DATA).putLong(request.cookie).putInt(-1));
    }

    @Test
    void readCoveredOnlyPartly() throws Exception {
        assertProtocolError(request -> {
            ByteBuffer b = ByteBuffer.allocate(20 + 12);
            b.putInt(NbdConstants.NBD_STRUCTURED_REPLY_MAGIC).putShort((short) NbdConstants.NBD_REPLY_FLAG_DONE)
                    .putShort((short) NbdConstants.NBD_REPLY_TYPE_OFFSET_HOLE).putLong(request.cookie).putInt(12);
            b.putLong(request.offset).putInt((int) request.length / 2);
            return b;
        });
    }

    record Request(long cookie, long offset, long length) {
    }

    private void assertProtocolError(Function<Request, ByteBuffer> reply) throws Exception {
        Path socket = tmp.resolve("fake.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread fake = new Thread(() -> serve(server, reply), "fake-nbd-server");
            fake.setDaemon(true);
            fake.start();
            try (NbdClient client = NbdClient.connect(NbdUri.parse("nbd+unix:///?socket=" + socket),
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

    /** Negotiates like a good server (structured replies, base:allocation, 1 MiB export), then misbehaves. */
    private static void serve(ServerSocketChannel server, Function<Request, ByteBuffer> reply) {
        try (SocketChannel c = server.accept()) {
            write(c, ByteBuffer.allocate(18).putLong(NbdConstants.NBDMAGIC).putLong(NbdConstants.IHAVEOPT)
                    .putShort((short) (NbdConstants.NBD_FLAG_FIXED_NEWSTYLE | NbdConstants.NBD_FLAG_NO_ZEROES)));
            read(c, 4);
            while (true) {
                ByteBuffer header = read(c, 16);
                header.getLong();
                int option = header.getInt();
                read(c, header.getInt());
                ByteBuffer out = ByteBuffer.allocate(256);
                if (option == NbdConstants.NBD_OPT_SET_META_CONTEXT) {
                    new OptionReply.MetaContext(option, 1, "base:allocation").encode(out);
                } else if (option == NbdConstants.NBD_OPT_GO) {
                    new OptionReply.InfoExport(option, 1 << 20,
                            NbdConstants.NBD_FLAG_HAS_FLAGS | NbdConstants.NBD_FLAG_READ_ONLY).encode(out);
                }
                new OptionReply.Ack(option).encode(out);
                write(c, out);
                if (option == NbdConstants.NBD_OPT_GO) {
                    break;
                }
            }
            ByteBuffer request = read(c, 28);
            request.getInt();
            request.getShort();
            request.getShort();
            long cookie = request.getLong();
            long offset = request.getLong();
            long length = Integer.toUnsignedLong(request.getInt());
            write(c, reply.apply(new Request(cookie, offset, length)));
            read(c, 1); // hold the connection until the client closes it
        } catch (IOException ignored) {
            // the client hung up
        }
    }

    private static void write(SocketChannel c, ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static ByteBuffer read(SocketChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("closed");
            }
        }
        return b.flip();
    }
}
