package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.OptionReply;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A scripted NBD server on a Unix socket, for faults real servers do not make: each accepted connection
 * runs the test's script on a daemon thread. {@link #negotiate} plays a good server's handshake;
 * {@link #close()} closes the listening socket and every connection.
 */
final class FakeNbdServer implements AutoCloseable {

    /** What the server does with one connection. */
    @FunctionalInterface
    interface Script {
        void run(SocketChannel connection) throws IOException;
    }

    /** A transmission request as the client sent it. */
    record Request(int type, long cookie, long offset, long length) {
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();

    private FakeNbdServer(ServerSocketChannel server, Path socket) {
        this.server = server;
        this.socket = socket;
    }

    static FakeNbdServer start(Path socket, Script script) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        FakeNbdServer fake = new FakeNbdServer(server, socket);
        Thread acceptor = new Thread(() -> fake.accept(script), "fake-nbd-server");
        acceptor.setDaemon(true);
        acceptor.start();
        return fake;
    }

    NbdUri uri() {
        return NbdUri.parse("nbd+unix:///?socket=" + socket);
    }

    private void accept(Script script) {
        while (server.isOpen()) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            connections.add(c);
            Thread worker = new Thread(() -> {
                try (c) {
                    script.run(c);
                } catch (IOException ignored) {
                    // the client hung up, or the test closed the server
                }
            }, "fake-nbd-connection");
            worker.setDaemon(true);
            worker.start();
        }
    }

    /**
     * Negotiates like a good server: fixed newstyle, structured replies, {@code base:allocation}, a 1 MiB
     * read-only export.
     */
    static void negotiate(SocketChannel c) throws IOException {
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
                return;
            }
        }
    }

    /** Reads one request header (requests without payload only). */
    static Request readRequest(SocketChannel c) throws IOException {
        ByteBuffer request = read(c, 28);
        request.getInt();
        request.getShort();
        int type = request.getShort() & 0xffff;
        long cookie = request.getLong();
        long offset = request.getLong();
        long length = Integer.toUnsignedLong(request.getInt());
        return new Request(type, cookie, offset, length);
    }

    /** Reads and ignores whatever the client sends until it hangs up. */
    static void drainUntilClosed(SocketChannel c) throws IOException {
        ByteBuffer sink = ByteBuffer.allocate(4096);
        while (c.read(sink.clear()) >= 0) {
            // never answer
        }
    }

    /** Writes {@code b} from 0 to its position. */
    static void write(SocketChannel c, ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    static ByteBuffer read(SocketChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("closed");
            }
        }
        return b.flip();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel c : connections) {
            c.close();
        }
    }
}
