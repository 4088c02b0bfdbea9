package io.chainsync.cli;

import io.chainsync.jobs.CopyProgress;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Bytes per layer on stderr, redrawn in place; silent when stderr is not a terminal. */
final class TerminalProgress implements CopyProgress, AutoCloseable {

    private static final long REDRAW_NANOS = 200_000_000L;

    private final PrintWriter err;
    private final boolean enabled;
    private final Map<String, long[]> layers = new ConcurrentHashMap<>();
    private final AtomicLong lastDraw = new AtomicLong();

    private TerminalProgress(PrintWriter err, boolean enabled) {
        this.err = err;
        this.enabled = enabled;
    }

    /** Enabled when the process has a console (stdin and stdout are terminals) and TERM is not dumb. */
    static TerminalProgress forStderr(PrintWriter err) {
        boolean tty = System.console() != null && !"dumb".equals(System.getenv("TERM"));
        return new TerminalProgress(err, tty);
    }

    @Override
    public void layerPlanned(String layer, long dataBytes) {
        layers.put(layer, new long[] {0, dataBytes});
        draw(layer, true);
    }

    @Override
    public void bytesCopied(String layer, long bytes) {
        long[] state = layers.get(layer);
        if (state != null) {
            synchronized (state) {
                state[0] += bytes;
            }
        }
        draw(layer, false);
    }

    @Override
    public void layerCompleted(String layer) {
        draw(layer, true);
        if (enabled) {
            err.println();
            err.flush();
        }
    }

    private void draw(String layer, boolean force) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        long last = lastDraw.get();
        if (!force && now - last < REDRAW_NANOS || !lastDraw.compareAndSet(last, now)) {
            return;
        }
        long[] state = layers.get(layer);
        if (state == null) {
            return;
        }
        long done;
        synchronized (state) {
            done = state[0];
        }
        long total = state[1];
        int width = 30;
        int filled = total == 0 ? width : (int) (width * done / total);
        synchronized (err) {
            err.print("\r" + layer + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                    + mib(done) + " / " + mib(total) + " MiB");
            err.flush();
        }
    }

    private static String mib(long bytes) {
        return String.format("%.1f", bytes / 1048576.0);
    }

    @Override
    public void close() {
        // each completed layer ends its line; nothing to release
    }
}
