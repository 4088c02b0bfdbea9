package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdException;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.BasicTlsPSKIdentity;
import org.bouncycastle.tls.PSKTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SecurityParameters;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/**
 * TLS-PSK ({@code tls-psk-file=FILE}) with Bouncy Castle's TLS ({@code bctls}), because the JDK's JSSE
 * has no external-PSK cipher suites. Bouncy Castle does the TLS; this class feeds it the socket.
 *
 * <p>The key is looked up as libnbd does: the first line {@code USER:HEXKEY} of the file whose user is
 * the URI's user name ({@link NbdTls#pskUsername()}); the PSK identity is that user name. TLS 1.2 with
 * Bouncy Castle's default PSK suites (ECDHE-PSK and DHE-PSK, with forward secrecy, first); GnuTLS
 * servers such as qemu-nbd's {@code tls-creds-psk} accept them. TLS 1.3 external PSKs are not offered.
 *
 * <p>Bouncy Castle's blocking mode runs over small stream adapters on the channel (not
 * {@link java.nio.channels.Channels#newInputStream}, whose streams share one lock and would block writes
 * while a read waits). Its protocol object allows one reader and one writer at a time.
 */
final class PskTransport extends Transport.OverSocket {

    private final String description;
    private final TlsClientProtocol protocol;
    private final InputStream in;
    private final OutputStream out;
    private final Object readLock = new Object();
    private final Object writeLock = new Object();
    private byte[] readBuffer = new byte[16 * 1024];
    private byte[] writeBuffer = new byte[16 * 1024];

    private PskTransport(SocketChannel socket, TlsClientProtocol protocol, String description) {
        super(socket);
        this.description = description;
        this.protocol = protocol;
        this.in = protocol.getInputStream();
        this.out = protocol.getOutputStream();
    }

    /** Looks the key up now; the handshake comes after {@code NBD_OPT_STARTTLS}. */
    static Tls.Upgrade prepare(NbdUri uri, NbdTls settings) throws IOException {
        Path file = settings.pskFile().orElseThrow();
        String user = settings.pskUsername();
        byte[] key = lookupKey(uri, file, user);
        return socket -> handshake(socket, uri, file, user, key);
    }

    private static PskTransport handshake(SocketChannel socket, NbdUri uri, Path file, String user, byte[] key)
            throws IOException {
        TlsClientProtocol protocol = new TlsClientProtocol(new SocketInput(socket), new SocketOutput(socket));
        String[] negotiated = {"TLS-PSK"};
        PSKTlsClient client = new PSKTlsClient(new BcTlsCrypto(new SecureRandom()),
                new BasicTlsPSKIdentity(user, key)) {
            @Override
            protected ProtocolVersion[] getSupportedVersions() {
                return ProtocolVersion.TLSv12.only();
            }

            @Override
            public void notifyHandshakeComplete() throws IOException {
                super.notifyHandshakeComplete();
                SecurityParameters parameters = context.getSecurityParametersConnection();
                negotiated[0] = parameters.getNegotiatedVersion().getName().replace(" ", "v") + " PSK cipher suite 0x"
                        + String.format("%04X", parameters.getCipherSuite()) + " (Bouncy Castle)";
            }
        };
        try {
            protocol.connect(client);
        } catch (TlsFatalAlertReceived e) {
            throw new NbdException("TLS-PSK handshake with " + uri + " failed: the server sent the alert "
                    + AlertDescription.getText(e.getAlertDescription()) + pskHint(e.getAlertDescription(), file, user),
                    e);
        } catch (TlsFatalAlert e) {
            throw new NbdException("TLS-PSK handshake with " + uri + " failed: " + e.getMessage()
                    + pskHint(e.getAlertDescription(), file, user), e);
        } catch (EOFException e) {
            throw new NbdException("TLS-PSK handshake with " + uri + " failed: the server closed the connection"
                    + " (does it know user '" + user + "' with the key in " + file + "?)", e);
        }
        return new PskTransport(socket, protocol, negotiated[0]);
    }

    private static String pskHint(short alert, Path file, String user) {
        return switch (alert) {
            case AlertDescription.decrypt_error, AlertDescription.bad_record_mac, AlertDescription.unknown_psk_identity,
                    AlertDescription.handshake_failure, AlertDescription.illegal_parameter ->
                    " (is the key of user '" + user + "' in " + file + " the server's?)";
            default -> "";
        };
    }

    /** libnbd's lookup: the first {@code user:hexkey} line of the file for that user. */
    static byte[] lookupKey(NbdUri uri, Path file, String user) throws IOException {
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.length() > user.length() + 1 && line.startsWith(user) && line.charAt(user.length()) == ':') {
                    String hex = line.substring(user.length() + 1).strip();
                    try {
                        return HexFormat.of().parseHex(hex);
                    } catch (IllegalArgumentException e) {
                        throw new NbdException("cannot use TLS-PSK for " + uri + ": " + file + ": the key of user '"
                                + user + "' is not hexadecimal", e);
                    }
                }
            }
        } catch (NoSuchFileException e) {
            throw new NbdException("cannot use TLS-PSK for " + uri + ": " + file + " not found", e);
        }
        throw new NbdException("cannot use TLS-PSK for " + uri + ": " + file + ": user '" + user
                + "' was not found in the PSK file (the user name comes from the URI, nbds://USER@host/, "
                + "else $LOGNAME)");
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        synchronized (readLock) {
            int n = in.read(readBuffer, 0, Math.min(readBuffer.length, dst.remaining()));
            if (n > 0) {
                dst.put(readBuffer, 0, n);
            }
            return n;
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        synchronized (writeLock) {
            int total = 0;
            while (src.hasRemaining()) {
                int n = Math.min(writeBuffer.length, src.remaining());
                src.get(writeBuffer, 0, n);
                out.write(writeBuffer, 0, n);
                total += n;
            }
            return total;
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        synchronized (writeLock) {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                total += write(srcs[i]);
            }
            return total;
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        synchronized (writeLock) {
            protocol.close(); // close_notify; the stream adapters do not close the socket
            socket.shutdownOutput();
        }
    }

    @Override
    public String describe() {
        return description;
    }

    /** Blocking reads from the channel; {@link #close()} leaves the socket alone. */
    private static final class SocketInput extends InputStream {
        private final SocketChannel socket;

        SocketInput(SocketChannel socket) {
            this.socket = socket;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            int n;
            do {
                n = socket.read(ByteBuffer.wrap(b, off, len));
            } while (n == 0);
            return n;
        }
    }

    /** Blocking writes to the channel; {@link #close()} leaves the socket alone. */
    private static final class SocketOutput extends OutputStream {
        private final SocketChannel socket;

        SocketOutput(SocketChannel socket) {
            this.socket = socket;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
            while (buffer.hasRemaining()) {
                if (!socket.isOpen()) {
                    throw new ClosedChannelException();
                }
                socket.write(buffer);
            }
        }
    }
}
