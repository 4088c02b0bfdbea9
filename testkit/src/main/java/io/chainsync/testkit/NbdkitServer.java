package io.chainsync.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An {@code nbdkit} child process (nbdkit 1.32 on Debian 12) for fault injection and odd servers:
 * {@code nbdkit -f --exit-with-parent -U SOCK [-r] [--filter=F …] PLUGIN [key=value …]}.
 * {@code -f} keeps it in the foreground (our child); {@code --exit-with-parent} makes it die with
 * the JVM even if close() is never reached. Filter parameters go with the plugin parameters.
 *
 * <pre>{@code
 * try (NbdkitServer s = NbdkitServer.builder("file").param("file", img.toString())
 *         .filter("delay").param("rdelay", "50ms")
 *         .filter("error").param("error-pread-rate", "10%").param("error", "EIO")
 *         .readOnly(true).start(tmp)) { … }
 * }</pre>
 *
 * <p>Note: nbdkit 1.32 only knows the {@code base:allocation} meta context; proxying a qemu-nbd
 * through {@code nbdkit nbd socket=…} therefore does <em>not</em> offer
 * {@code qemu:allocation-depth} (the "context not offered" case).
 */
public final class NbdkitServer extends NbdServer {

    private NbdkitServer(List<String> cmd, Path socket, Duration timeout) {
        super(cmd, socket, timeout);
    }

    /** A builder for {@code nbdkit PLUGIN}, e.g. "file", "memory", "pattern", "nbd", "null". */
    public static Builder builder(String plugin) {
        return new Builder(plugin);
    }

    /** {@code nbdkit -r file file=PATH} with the given filters and no parameters. */
    public static NbdkitServer serveFile(Path file, Path sockDir, String... filters) {
        Builder b = builder("file").param("file", file.toAbsolutePath().toString()).readOnly(true);
        for (String f : filters) {
            b.filter(f);
        }
        return b.start(sockDir);
    }

    /** Options for one nbdkit process. */
    public static final class Builder {
        private final String plugin;
        private final List<String> filters = new ArrayList<>();
        private final List<String> params = new ArrayList<>();
        private final List<String> extraArgs = new ArrayList<>();
        private boolean readOnly;
        private Integer threads;
        private Duration startTimeout = START_TIMEOUT;

        private Builder(String plugin) {
            this.plugin = plugin;
        }

        /** {@code --filter=NAME} (order matters: the first filter is outermost). */
        public Builder filter(String name) {
            filters.add(name);
            return this;
        }

        /** A plugin or filter parameter {@code key=value} (repeatable, kept in order). */
        public Builder param(String key, String value) {
            params.add(key + "=" + value);
            return this;
        }

        /** {@code -r} when true (default false). */
        public Builder readOnly(boolean v) {
            readOnly = v;
            return this;
        }

        /** {@code -t N}. */
        public Builder threads(int n) {
            threads = n;
            return this;
        }

        /** Extra nbdkit options, inserted before the plugin, e.g. {@code "-v"}. */
        public Builder arg(String... args) {
            extraArgs.addAll(List.of(args));
            return this;
        }

        /** How long to wait for the socket. */
        public Builder startTimeout(Duration d) {
            startTimeout = d;
            return this;
        }

        /** Starts nbdkit with a fresh socket in {@code sockDir} and waits until it serves. */
        public NbdkitServer start(Path sockDir) {
            Path sock = newSocket(sockDir, "nbdkit");
            List<String> cmd = new ArrayList<>(List.of("nbdkit", "-f", "--exit-with-parent", "-U", sock.toString()));
            if (readOnly) {
                cmd.add("-r");
            }
            if (threads != null) {
                cmd.addAll(List.of("-t", threads.toString()));
            }
            for (String f : filters) {
                cmd.add("--filter=" + f);
            }
            cmd.addAll(extraArgs);
            cmd.add(plugin);
            cmd.addAll(params);
            return new NbdkitServer(cmd, sock, startTimeout);
        }
    }
}
