package io.chainsync.testkit;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code qemu-nbd} child process serving one image on a unix socket (persistent {@code -t},
 * shared {@code -e 8}, read-only by default). See {@link NbdServer} for lifecycle and readiness.
 *
 * <pre>{@code
 * try (QemuNbdServer s = QemuNbdServer.serveLayerAlone(top, tmp)) {
 *     String uri = s.uri();   // nbd+unix:///?socket=/…/qemu-nbd-….sock, export name ""
 * }
 * }</pre>
 *
 * <p>Factories follow docs/design.md §2: a qcow2 layer alone is served through a {@code json:} spec with
 * {@code "backing":null} and {@code -A} ({@code qemu:allocation-depth}); raw images without
 * {@code -A}.
 */
public final class QemuNbdServer extends NbdServer {

    private QemuNbdServer(List<String> cmd, Path socket, Duration timeout) {
        super(cmd, socket, timeout);
    }

    private QemuNbdServer(List<String> cmd, InetSocketAddress tcp, Duration timeout) {
        super(cmd, tcp, timeout);
    }

    /**
     * {@code qemu-nbd -r -t -A -e 8 -k SOCK -f qcow2 'json:{"driver":"qcow2","backing":null,…}'}:
     * the qcow2 layer alone; depth 0 = absent, 1 = local.
     */
    public static QemuNbdServer serveLayerAlone(Path qcow2, Path sockDir) {
        return aloneBuilder(qcow2).start(sockDir);
    }

    private static Builder aloneBuilder(Path qcow2) {
        return builder(QemuImg.aloneSpec(qcow2, "qcow2"), "qcow2");
    }

    /** {@code qemu-nbd -r -t -e 8 -k SOCK -f raw PATH} (no {@code -A}: see docs/design.md §2). */
    public static QemuNbdServer serveRaw(Path raw, Path sockDir) {
        return rawBuilder(raw).start(sockDir);
    }

    private static Builder rawBuilder(Path raw) {
        return builder(raw.toAbsolutePath().toString(), "raw").allocationDepth(false);
    }

    /** Serves a layer the way a scanner sees it: raw via {@link #serveRaw}, else {@link #serveLayerAlone}. */
    public static QemuNbdServer serveLayer(Layer layer, Path sockDir) {
        return layerBuilder(layer).start(sockDir);
    }

    /** A builder serving a layer as {@link #serveLayer} does, for more options (e.g. TLS). */
    public static Builder layerBuilder(Layer layer) {
        return layer.isRaw() ? rawBuilder(layer.path()) : aloneBuilder(layer.path());
    }

    /**
     * A layer served as {@link #serveLayer} does, but slowed by qemu's throttle filter to
     * {@code bytesPerSecond} of reads, so that a copy takes seconds and a fault lands mid-copy. The
     * filter keeps {@code qemu:allocation-depth} intact (docs/design.md §2).
     */
    public static QemuNbdServer serveThrottled(Layer layer, Path sockDir, long bytesPerSecond) {
        String file = "{\"driver\":\"file\",\"filename\":\"" + layer.path().toAbsolutePath() + "\"}";
        String image = layer.isRaw() ? "{\"driver\":\"raw\",\"file\":" + file + "}"
                : "{\"driver\":\"qcow2\",\"backing\":null,\"file\":" + file + "}";
        return builder("json:{\"driver\":\"throttle\",\"throttle-group\":\"tg\",\"file\":" + image + "}", null)
                .allocationDepth(!layer.isRaw())
                .arg("--object", "throttle-group,id=tg,x-bps-read=" + bytesPerSecond).start(sockDir);
    }

    /**
     * {@code qemu-nbd -r -t -A -e 8 -k SOCK -f qcow2 PATH}: the whole chain under the qcow2 image;
     * depth 1 = this layer, N ≥ 2 = backing layer N, 0 = absent everywhere.
     */
    public static QemuNbdServer serveWithBacking(Path qcow2, Path sockDir) {
        return builder(qcow2.toAbsolutePath().toString(), "qcow2").start(sockDir);
    }

    /**
     * The qcow2 layer alone ({@code backing:null}) <em>without</em> {@code -A}: the
     * {@code qemu:allocation-depth} context is not offered (a consumer must refuse non-bottom layers).
     */
    public static QemuNbdServer serveNoDepth(Path qcow2, Path sockDir) {
        return builder(QemuImg.aloneSpec(qcow2, "qcow2"), "qcow2").allocationDepth(false).start(sockDir);
    }

    /**
     * A builder for any combination of options.
     *
     * @param imageSpec a path or a {@code json:} spec (see {@link QemuImg#aloneSpec})
     * @param format    {@code -f} value ("qcow2", "raw"), or {@code null} to omit {@code -f}
     */
    public static Builder builder(String imageSpec, String format) {
        return new Builder(imageSpec, format);
    }

    /** Options for one qemu-nbd process. Defaults: read-only, {@code -A}, {@code -t}, {@code -e 8}. */
    public static final class Builder {
        private final String imageSpec;
        private final String format;
        private boolean readOnly = true;
        private boolean allocationDepth = true;
        private boolean persistent = true;
        private int shared = 8;
        private final List<String> bitmaps = new ArrayList<>();
        private final List<String> extraArgs = new ArrayList<>();
        private Duration startTimeout = START_TIMEOUT;

        private Builder(String imageSpec, String format) {
            this.imageSpec = imageSpec;
            this.format = format;
        }

        /** {@code -r} when true (default); false serves writable (e.g. a destination). */
        public Builder readOnly(boolean v) {
            readOnly = v;
            return this;
        }

        /** Shorthand for {@code readOnly(false)}. */
        public Builder writable() {
            return readOnly(false);
        }

        /** {@code -A} ({@code qemu:allocation-depth}) when true (default). */
        public Builder allocationDepth(boolean v) {
            allocationDepth = v;
            return this;
        }

        /** {@code -B NAME}: expose {@code qemu:dirty-bitmap:NAME} (repeatable). */
        public Builder bitmap(String name) {
            bitmaps.add(name);
            return this;
        }

        /** {@code -t} when true (default). */
        public Builder persistent(boolean v) {
            persistent = v;
            return this;
        }

        /** {@code -e N} (default 8). */
        public Builder shared(int n) {
            shared = n;
            return this;
        }

        /** Extra qemu-nbd arguments, inserted before the image, e.g. {@code "--cache=none"}. */
        public Builder arg(String... args) {
            extraArgs.addAll(List.of(args));
            return this;
        }

        /** How long to wait for the socket (default {@link NbdServer#START_TIMEOUT}). */
        public Builder startTimeout(Duration d) {
            startTimeout = d;
            return this;
        }

        /** Starts qemu-nbd with a fresh socket in {@code sockDir} and waits until it serves. */
        public QemuNbdServer start(Path sockDir) {
            Path sock = newSocket(sockDir, "qemu-nbd");
            return new QemuNbdServer(command(List.of("-k", sock.toString())), sock, startTimeout);
        }

        /**
         * Starts qemu-nbd on TCP ({@code -b HOST -p PORT}, a port that was free) and waits until the port
         * serves; {@link NbdServer#uri()} is then {@code nbd://HOST:PORT/}.
         */
        public QemuNbdServer startTcp(String host) {
            int port = freePort(host);
            return new QemuNbdServer(command(List.of("-b", host, "-p", Integer.toString(port))),
                    new InetSocketAddress(host, port), startTimeout);
        }

        private List<String> command(List<String> listen) {
            List<String> cmd = new ArrayList<>(List.of("qemu-nbd"));
            if (readOnly) {
                cmd.add("-r");
            }
            if (persistent) {
                cmd.add("-t");
            }
            if (allocationDepth) {
                cmd.add("-A");
            }
            cmd.addAll(List.of("-e", Integer.toString(shared)));
            for (String b : bitmaps) {
                cmd.addAll(List.of("-B", b));
            }
            cmd.addAll(listen);
            if (format != null) {
                cmd.addAll(List.of("-f", format));
            }
            cmd.addAll(extraArgs);
            cmd.add(imageSpec);
            return cmd;
        }
    }
}
