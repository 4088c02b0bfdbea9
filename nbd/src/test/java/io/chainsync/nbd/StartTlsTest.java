package io.chainsync.nbd;

import io.chainsync.testkit.TestPki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.nbd.protocol.NbdConstants;
import io.chainsync.nbd.protocol.NbdException;
import io.chainsync.nbd.protocol.OptionReply;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code NBD_OPT_STARTTLS} against scripted servers: the option goes first, a refusal ends the
 * connection with nothing sent after it, a server that requires TLS gets "use nbds://", and a server
 * that acknowledges STARTTLS but then does not speak TLS fails the handshake.
 */
class StartTlsTest {

    @TempDir
    Path dir;

    /** Options the scripted server received, in order. */
    private final List<Integer> options = new CopyOnWriteArrayList<>();

    /** Greets, then answers every option with {@code reply(option)} until the client hangs up. */
    private FakeNbdServer server(java.util.function.IntFunction<OptionReply> reply) throws IOException {
        return FakeNbdServer.start(dir.resolve("fake.sock"), c -> {
            greet(c);
            while (true) {
                int option = readOption(c);
                options.add(option);
                ByteBuffer out = ByteBuffer.allocate(512);
                reply.apply(option).encode(out);
                FakeNbdServer.write(c, out);
            }
        });
    }

    /** The fixed newstyle greeting; reads the client flags. */
    private static void greet(SocketChannel c) throws IOException {
        FakeNbdServer.write(c, ByteBuffer.allocate(18).putLong(NbdConstants.NBDMAGIC).putLong(NbdConstants.IHAVEOPT)
                .putShort((short) (NbdConstants.NBD_FLAG_FIXED_NEWSTYLE | NbdConstants.NBD_FLAG_NO_ZEROES)));
        FakeNbdServer.read(c, 4);
    }

    private static int readOption(SocketChannel c) throws IOException {
        ByteBuffer header = FakeNbdServer.read(c, 16);
        header.getLong();
        int option = header.getInt();
        FakeNbdServer.read(c, header.getInt());
        return option;
    }

    private NbdUri tlsUri(FakeNbdServer server) throws IOException {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        return server.uri().withTls(NbdTls.certificates(certs));
    }

    /** Puts a CA's ca-cert.pem into the directory {@link #tlsUri} names. */
    private void trustTestCa() throws IOException {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        Files.copy(TestPki.ca(dir.resolve("ca"), "test CA").cert(), certs.resolve("ca-cert.pem"));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void refusedStartTlsEndsTheConnectionWithNothingSentInPlaintext() throws Exception {
        trustTestCa(); // credentials are loaded before STARTTLS: give the client a CA file to load
        for (int refusal : new int[] {NbdConstants.NBD_REP_ERR_POLICY, NbdConstants.NBD_REP_ERR_UNSUP}) {
            options.clear();
            try (FakeNbdServer server = server(option -> new OptionReply.Error(option, refusal, "no TLS here"))) {
                NbdException e = assertThrows(NbdException.class,
                        () -> NbdClient.connect(tlsUri(server), NbdClient.Options.defaults()));
                assertTrue(e.getMessage().contains("refused NBD_OPT_STARTTLS (" + NbdConstants.optionReplyName(refusal)
                        + ": no TLS here)"), e.getMessage());
                assertTrue(e.getMessage().contains("never falls back to plaintext"), e.getMessage());
                Thread.sleep(100); // let the server read whatever else might come
                assertEquals(List.of(NbdConstants.NBD_OPT_STARTTLS), options, "STARTTLS first, nothing after");
            }
            Files.deleteIfExists(dir.resolve("fake.sock"));
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void missingCredentialsFailBeforeStartTls() throws Exception {
        try (FakeNbdServer server = server(OptionReply.Ack::new)) {
            NbdException e = assertThrows(NbdException.class,
                    () -> NbdClient.connect(tlsUri(server), NbdClient.Options.defaults()));
            assertTrue(e.getMessage().contains("ca-cert.pem not found"), e.getMessage());
            NbdUri psk = server.uri().withTls(NbdTls.psk(dir.resolve("missing.psk"), "u"));
            NbdException p = assertThrows(NbdException.class, () -> NbdClient.connect(psk, NbdClient.Options.defaults()));
            assertTrue(p.getMessage().contains("missing.psk not found"), p.getMessage());
            Thread.sleep(100);
            assertEquals(List.of(), options, "nothing asked of the server");
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void serverThatAcknowledgesButDoesNotSpeakTlsFailsTheHandshake() throws Exception {
        trustTestCa();
        // ACK for STARTTLS, then a plaintext option reply where the ServerHello should be
        try (FakeNbdServer server = FakeNbdServer.start(dir.resolve("fake.sock"), c -> {
            greet(c);
            options.add(readOption(c));
            ByteBuffer out = ByteBuffer.allocate(64);
            new OptionReply.Ack(NbdConstants.NBD_OPT_STARTTLS).encode(out);
            new OptionReply.Ack(NbdConstants.NBD_OPT_GO).encode(out);
            FakeNbdServer.write(c, out);
            FakeNbdServer.drainUntilClosed(c);
        })) {
            NbdException e = assertThrows(NbdException.class,
                    () -> NbdClient.connect(tlsUri(server), NbdClient.Options.defaults()));
            assertTrue(e.getMessage().contains("TLS handshake with"), e.getMessage());
            assertFalse(NbdErrors.isTransient(e));
            assertEquals(List.of(NbdConstants.NBD_OPT_STARTTLS), options);
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void plaintextClientMeetingTlsRequiredIsToldToUseNbds() throws Exception {
        try (FakeNbdServer server = server(option -> option == NbdConstants.NBD_OPT_ABORT ? new OptionReply.Ack(option)
                : new OptionReply.Error(option, NbdConstants.NBD_REP_ERR_TLS_REQD, "TLS is required"))) {
            NbdException e = assertThrows(NbdException.class, () -> NbdClient.connect(server.uri(),
                    NbdClient.Options.defaults().withMetaContexts("base:allocation")));
            assertTrue(e.getMessage().contains("server requires TLS (use nbds://)"), e.getMessage());
            assertTrue(e.getMessage().contains("nbds+unix:///EXPORT?socket=PATH"), e.getMessage());
            assertFalse(e.getMessage().contains("structured replies"), e.getMessage());
            assertEquals(NbdConstants.NBD_OPT_STRUCTURED_REPLY, options.get(0));
            assertFalse(NbdErrors.isTransient(e));
        }
    }
}
