package io.chainsync.cli;

import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerStatus;
import java.io.PrintWriter;

/** Prints job status: one line per layer, with a progress bar on a terminal. */
final class StatusPrinter {

    private final PrintWriter out;
    private final boolean bars;

    StatusPrinter(PrintWriter out, boolean bars) {
        this.out = out;
        this.bars = bars;
    }

    static boolean terminal() {
        return System.console() != null && !"dumb".equals(System.getenv("TERM"));
    }

    void print(JobStatus status) {
        out.println("job " + status.getJob() + ": " + status.getState()
                + (status.getError() == null ? "" : " (" + status.getError() + ")"));
        for (LayerStatus layer : status.getLayers()) {
            StringBuilder line = new StringBuilder("  ").append(layer.getName()).append(' ').append(layer.getState());
            if (bars) {
                line.append(' ').append(bar(layer.getBytesDone(), layer.getBytesTotal()));
            }
            line.append(String.format(" %s/%s MiB, chunks %d/%d", mib(layer.getBytesDone()), mib(layer.getBytesTotal()),
                    layer.getChunksDone(), layer.getChunksTotal()));
            if (layer.getError() != null) {
                line.append(" error: ").append(layer.getError());
            }
            out.println(line);
        }
        out.flush();
    }

    static String bar(long done, long total) {
        int width = 24;
        int filled = total <= 0 ? (done > 0 ? width : 0) : (int) Math.min(width, width * done / total);
        return "[" + "#".repeat(filled) + " ".repeat(width - filled) + "]";
    }

    static String mib(long bytes) {
        return String.format("%.1f", bytes / 1048576.0);
    }
}
