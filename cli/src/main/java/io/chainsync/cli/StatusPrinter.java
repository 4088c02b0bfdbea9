package io.chainsync.cli;

import io.chainsync.avro.JobState;
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
                + (status.getAttempt() > 0 ? " attempt " + status.getAttempt() : "")
                + (status.getError() == null ? "" : " (" + status.getError() + ")") + ", " + pending(status));
        for (LayerStatus layer : status.getLayers()) {
            StringBuilder line = new StringBuilder("  ").append(layer.getName()).append(' ').append(layer.getState());
            if (layer.getVerified()) {
                line.append(" VERIFIED");
            } else if (layer.getFirstDifference() >= 0) {
                line.append(" DIFFERS at offset ").append(layer.getFirstDifference());
            }
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

    /**
     * The work still to do, summed over the job's layers: chunks not yet copied of all chunks, and
     * data bytes not yet copied (a COMPLETE layer has none left, even when its layer was kept from
     * an earlier attempt and copied nothing in this one).
     */
    static String pending(JobStatus status) {
        long chunks = 0;
        long chunksTotal = 0;
        long bytes = 0;
        for (LayerStatus layer : status.getLayers()) {
            chunksTotal += layer.getChunksTotal();
            if (layer.getState() != JobState.COMPLETE) {
                chunks += Math.max(0, layer.getChunksTotal() - layer.getChunksDone());
                bytes += Math.max(0, layer.getBytesTotal() - layer.getBytesDone());
            }
        }
        return "pending " + chunks + "/" + chunksTotal + " chunks, " + mib(bytes) + " MiB";
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
