package io.chainsync.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;

/**
 * The byte stream of one NBD connection: the socket itself, or a TLS session over it after
 * {@code NBD_OPT_STARTTLS}. Reads and writes may run concurrently (one reader thread, writers
 * serialised by the caller); {@link #close()} closes the socket, which wakes a blocked reader.
 */
interface Transport extends ByteChannel, GatheringByteChannel {

    /** Ends the client's direction: a TLS {@code close_notify} if TLS is running, then a half-close. */
    void shutdownOutput() throws IOException;

    /** "plaintext", or the TLS version and cipher suite. */
    String describe();

    @Override
    default long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /** The socket as it is, without TLS. */
    static Transport plain(SocketChannel socket) {
        return new Plain(socket);
    }

    /** A transport over one socket: open while the socket is, closed by closing the socket. */
    abstract class OverSocket implements Transport {
        protected final SocketChannel socket;

        OverSocket(SocketChannel socket) {
            this.socket = socket;
        }

        @Override
        public boolean isOpen() {
            return socket.isOpen();
        }

        /** Closes the socket, which wakes a reader blocked on it. */
        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** No TLS: the socket's own reads and writes. */
    final class Plain extends OverSocket {
        Plain(SocketChannel socket) {
            super(socket);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return socket.read(dst);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return socket.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return socket.write(srcs, offset, length);
        }

        @Override
        public void shutdownOutput() throws IOException {
            socket.shutdownOutput();
        }

        @Override
        public String describe() {
            return "plaintext";
        }
    }
}
