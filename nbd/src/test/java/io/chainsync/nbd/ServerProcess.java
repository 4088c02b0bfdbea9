package io.chainsync.nbd;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A qemu-nbd or nbdkit child process serving on a Unix socket. Started without --fork (which may exit
 * non-zero while serving), then we wait until the socket accepts connections.
 */
final class ServerProcess implements AutoCloseable {

    private final Process process;
    private final Path socket;
    private final Path log;

    private ServerProcess(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    /** Starts {@code command}; the literal {@code SOCK} in it is replaced by the socket path. */
    static ServerProcess start(Path dir, String name, String... command) throws IOException, InterruptedException {
        Path socket = dir.resolve(name + ".sock");
        Path log = dir.resolve(name + ".log");
        List<String> args = new ArrayList<>();
        for (String arg : command) {
            args.add(arg.equals("SOCK") ? socket.toString() : arg);
        }
        Process process = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ServerProcess server = new ServerProcess(process, socket, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            if (!process.isAlive()) {
                throw new IOException(args + " exited with " + process.exitValue() + ": " + server.output());
            }
            if (Files.exists(socket)) {
                try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    probe.connect(UnixDomainSocketAddress.of(socket));
                    return server;
                } catch (IOException e) {
                    // not accepting yet
                }
            }
            if (System.nanoTime() > deadline) {
                server.close();
                throw new IOException(args + " did not start serving: " + server.output());
            }
            Thread.sleep(20);
        }
    }

    NbdUri uri() {
        return NbdUri.unix(socket, "");
    }

    NbdUri uri(String export) {
        return NbdUri.unix(socket, export);
    }

    Path socket() {
        return socket;
    }

    String output() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Runs a tool (qemu-img, qemu-io) and fails on a non-zero exit. */
    static String run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
        return output;
    }
}
