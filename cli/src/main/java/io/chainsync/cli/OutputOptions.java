package io.chainsync.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.LayerStatus;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** {@code --output text|json}: what a command prints on stdout. */
final class OutputOptions {

    /** Created on first use: Jackson's classes load only for {@code --output json}. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text",
            description = "text or json (default ${DEFAULT-VALUE})")
    String output = "text";

    boolean json() {
        return switch (output.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "text" -> false;
            case "json" -> true;
            default -> throw new IllegalArgumentException("--output must be text or json, not " + output);
        };
    }

    static void print(PrintWriter out, Object value) {
        try {
            out.println(Json.MAPPER.writeValueAsString(value));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        out.flush();
    }

    /** A job's status as plain JSON values (field names as in the Avro schema). */
    static Map<String, Object> job(JobStatus status) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", status.getJob());
        m.put("state", status.getState().name());
        m.put("dest", status.getDest());
        m.put("error", status.getError());
        m.put("updatedAt", status.getUpdatedAt() == null ? null : status.getUpdatedAt().toString());
        List<Map<String, Object>> layers = new ArrayList<>();
        for (LayerStatus l : status.getLayers()) {
            Map<String, Object> layer = new LinkedHashMap<>();
            layer.put("layer", l.getLayer());
            layer.put("name", l.getName());
            layer.put("state", l.getState().name());
            layer.put("bytesDone", l.getBytesDone());
            layer.put("bytesTotal", l.getBytesTotal());
            layer.put("chunksDone", l.getChunksDone());
            layer.put("chunksTotal", l.getChunksTotal());
            layer.put("error", l.getError());
            layer.put("verified", l.getVerified());
            layer.put("firstDifference", l.getFirstDifference() < 0 ? null : l.getFirstDifference());
            layers.add(layer);
        }
        m.put("layers", layers);
        return m;
    }

    /** The summary {@code copy --output json} prints: per layer bytes, seconds and rate. */
    static Map<String, Object> copySummary(boolean complete, String error, double seconds,
                                           List<TerminalProgress.LayerCount> layers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("state", complete ? "COMPLETE" : "FAILED");
        m.put("error", error);
        m.put("seconds", round(seconds));
        List<Map<String, Object>> out = new ArrayList<>();
        for (TerminalProgress.LayerCount c : layers) {
            Map<String, Object> layer = new LinkedHashMap<>();
            double s = c.seconds();
            layer.put("name", c.name);
            layer.put("state", c.ended != 0 ? "COMPLETE" : "INCOMPLETE");
            layer.put("dataBytes", c.total);
            layer.put("bytesCopied", c.done.get());
            layer.put("seconds", round(s));
            layer.put("bytesPerSecond", s > 0 ? Math.round(c.done.get() / s) : 0);
            out.add(layer);
        }
        m.put("layers", out);
        return m;
    }

    private static double round(double seconds) {
        return Math.round(seconds * 1000) / 1000.0;
    }
}
