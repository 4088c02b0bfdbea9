package io.chainsync.cli;

import io.chainsync.avro.JobState;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerStatus;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Shows a job's status updates while {@code submit --wait} or {@code sync} waits: on a terminal
 * one block (a line per layer) redrawn in place; elsewhere one plain line per layer every few
 * seconds and whenever a layer changes state; nothing with {@code --progress=never}.
 */
final class StatusFollower implements Consumer<JobStatus> {

    private final PrintWriter err;
    private final ProgressOptions.Style style;
    private final long intervalNanos;
    /** Per layer: when and at how many bytes it was first seen, when last printed, and its state then. */
    private final Map<String, long[]> seen = new HashMap<>();
    private final Map<String, JobState> printedState = new HashMap<>();
    private int drawnLines;

    StatusFollower(PrintWriter err, ProgressOptions.Style style, long intervalNanos) {
        this.err = err;
        this.style = style;
        this.intervalNanos = intervalNanos;
    }

    @Override
    public synchronized void accept(JobStatus status) {
        long now = System.nanoTime();
        for (LayerStatus layer : status.getLayers()) {
            seen.computeIfAbsent(layer.getName(), n -> new long[] {now, layer.getBytesDone(), 0});
        }
        switch (style) {
            case IN_PLACE -> redraw(status, now);
            case LINES -> lines(status, now);
            case NONE -> {
            }
        }
    }

    private void redraw(JobStatus status, long now) {
        StringBuilder block = new StringBuilder();
        if (drawnLines > 0) {
            block.append("\033[").append(drawnLines).append('A');
        }
        int lines = 0;
        block.append("\r\033[2Kjob ").append(status.getJob()).append(": ").append(status.getState()).append('\n');
        lines++;
        for (LayerStatus layer : status.getLayers()) {
            block.append("\r\033[2K  ").append(layer.getName()).append(' ')
                    .append(StatusPrinter.bar(layer.getBytesDone(), layer.getBytesTotal())).append(' ')
                    .append(figures(layer, now)).append('\n');
            lines++;
        }
        drawnLines = lines;
        err.print(block);
        err.flush();
    }

    private void lines(JobStatus status, long now) {
        for (LayerStatus layer : status.getLayers()) {
            long[] s = seen.get(layer.getName());
            boolean changed = printedState.get(layer.getName()) != layer.getState();
            if (changed || now - s[2] >= intervalNanos) {
                s[2] = now;
                printedState.put(layer.getName(), layer.getState());
                err.println("job " + status.getJob() + " " + layer.getName() + ": " + figures(layer, now));
            }
        }
        err.flush();
    }

    /** State, bytes, chunks, and rate and ETA measured since this layer was first seen. */
    private String figures(LayerStatus layer, long now) {
        long[] s = seen.get(layer.getName());
        double seconds = (now - s[0]) / 1e9;
        double rate = seconds > 0.5 ? (layer.getBytesDone() - s[1]) / seconds : 0;
        StringBuilder t = new StringBuilder().append(layer.getState()).append(' ')
                .append(Sizes.human(layer.getBytesDone())).append(" / ").append(Sizes.human(layer.getBytesTotal()))
                .append(String.format(Locale.ROOT, ", chunks %d/%d", layer.getChunksDone(), layer.getChunksTotal()));
        if (layer.getState() != JobState.COMPLETE && layer.getState() != JobState.FAILED) {
            t.append(", ").append(Sizes.human(rate)).append("/s, ETA ")
                    .append(TerminalProgress.eta(layer.getBytesTotal() - layer.getBytesDone(), rate));
        }
        if (layer.getError() != null) {
            t.append(", error: ").append(layer.getError());
        }
        return t.toString();
    }
}
