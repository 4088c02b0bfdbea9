package io.chainsync.cli;

import io.chainsync.jobs.CopyProgress;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes per layer on stderr with rate and ETA: redrawn in place on a terminal, one plain line
 * per layer every few seconds elsewhere, nothing with {@code --progress=never}. Also keeps what a
 * summary ({@code --output json}) needs: bytes and elapsed time per layer.
 */
final class TerminalProgress implements CopyProgress, AutoCloseable {

    private static final long REDRAW_NANOS = 200_000_000L;

    /** One layer's counts; times from {@link System#nanoTime()}. */
    static final class LayerCount {
        final String name;
        final long total;
        final long started = System.nanoTime();
        final AtomicLong done = new AtomicLong();
        volatile long lastLine = started;
        volatile long ended;

        LayerCount(String name, long total) {
            this.name = name;
            this.total = total;
        }

        double seconds() {
            return ((ended == 0 ? System.nanoTime() : ended) - started) / 1e9;
        }
    }

    private final PrintWriter err;
    private final ProgressOptions.Style style;
    private final long intervalNanos;
    private final Map<String, LayerCount> layers = new ConcurrentHashMap<>();
    private final List<LayerCount> order = new ArrayList<>();
    private final AtomicLong lastDraw = new AtomicLong();

    TerminalProgress(PrintWriter err, ProgressOptions.Style style, long intervalNanos) {
        this.err = err;
        this.style = style;
        this.intervalNanos = intervalNanos;
    }

    @Override
    public void layerPlanned(String layer, long dataBytes) {
        LayerCount count = new LayerCount(layer, dataBytes);
        layers.put(layer, count);
        synchronized (order) {
            order.add(count);
        }
        if (style == ProgressOptions.Style.IN_PLACE) {
            draw(count, true);
        }
    }

    @Override
    public void bytesCopied(String layer, long bytes) {
        LayerCount count = layers.get(layer);
        if (count == null) {
            return;
        }
        count.done.addAndGet(bytes);
        if (style == ProgressOptions.Style.IN_PLACE) {
            draw(count, false);
        } else if (style == ProgressOptions.Style.LINES) {
            long now = System.nanoTime();
            long last = count.lastLine;
            if (now - last >= intervalNanos) {
                count.lastLine = now;
                line(progressText(count));
            }
        }
    }

    @Override
    public void layerCompleted(String layer) {
        LayerCount count = layers.get(layer);
        if (count == null) {
            return;
        }
        count.ended = System.nanoTime();
        if (style == ProgressOptions.Style.IN_PLACE) {
            draw(count, true);
            line("");
        } else if (style == ProgressOptions.Style.LINES) {
            line(completedText(count));
        }
    }

    /** The layers seen so far, in the order they were planned. */
    List<LayerCount> layers() {
        synchronized (order) {
            return List.copyOf(order);
        }
    }

    private void draw(LayerCount count, boolean force) {
        long now = System.nanoTime();
        long last = lastDraw.get();
        if (!force && now - last < REDRAW_NANOS || !lastDraw.compareAndSet(last, now)) {
            return;
        }
        long done = count.done.get();
        int width = 24;
        int filled = count.total == 0 ? width : (int) Math.min(width, width * done / count.total);
        synchronized (err) {
            err.print("\r\033[2K" + count.name + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                    + progressFigures(count));
            err.flush();
        }
    }

    private void line(String text) {
        synchronized (err) {
            err.println(text);
            err.flush();
        }
    }

    static String progressText(LayerCount count) {
        return count.name + ": " + progressFigures(count);
    }

    private static String progressFigures(LayerCount count) {
        long done = count.done.get();
        double seconds = count.seconds();
        double rate = seconds > 0 ? done / seconds : 0;
        StringBuilder s = new StringBuilder();
        s.append(Sizes.human(done)).append(" / ").append(Sizes.human(count.total));
        if (count.total > 0) {
            s.append(String.format(Locale.ROOT, " %3d%%", 100 * done / count.total));
        }
        s.append(", ").append(Sizes.human(rate)).append("/s");
        s.append(", ETA ").append(eta(count.total - done, rate));
        return s.toString();
    }

    static String completedText(LayerCount count) {
        double seconds = count.seconds();
        return String.format(Locale.ROOT, "%s: complete, %s in %.1f s (%s/s)", count.name, Sizes.human(count.done.get()),
                seconds, Sizes.human(seconds > 0 ? count.done.get() / seconds : 0));
    }

    /** Time left at the given rate, or {@code ?} when it cannot be told yet. */
    static String eta(long remaining, double bytesPerSecond) {
        if (remaining <= 0) {
            return "0s";
        }
        if (bytesPerSecond <= 0) {
            return "?";
        }
        return Sizes.duration((long) Math.ceil(remaining / bytesPerSecond));
    }

    @Override
    public void close() {
        // each completed layer ends its line; nothing to release
    }
}
