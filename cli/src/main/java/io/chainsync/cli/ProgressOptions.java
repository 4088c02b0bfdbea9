package io.chainsync.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --progress=auto|always|never}: how progress is shown on stderr. {@code auto} redraws in
 * place when stderr is a terminal and otherwise prints one plain line per layer every
 * {@code --progress-interval} seconds (and one when a layer ends); {@code always} redraws in place
 * even when stderr is not a terminal; {@code never} prints none.
 */
final class ProgressOptions {

    enum Mode { AUTO, ALWAYS, NEVER }

    /** What is actually drawn. */
    enum Style { IN_PLACE, LINES, NONE }

    @Option(names = "--progress", paramLabel = "WHEN", defaultValue = "auto",
            description = "auto (in place on a terminal, a plain line per layer every few seconds elsewhere),"
                    + " always (in place), never (default ${DEFAULT-VALUE})")
    String progress = "auto";

    @Option(names = "--progress-interval", paramLabel = "SECONDS", defaultValue = "5",
            description = "off a terminal, seconds between progress lines of a layer (default ${DEFAULT-VALUE})")
    double intervalSeconds = 5;

    Mode mode() {
        return switch (progress.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> Mode.AUTO;
            case "always" -> Mode.ALWAYS;
            case "never" -> Mode.NEVER;
            default -> throw new IllegalArgumentException("--progress must be auto, always or never, not " + progress);
        };
    }

    Style style() {
        return switch (mode()) {
            case NEVER -> Style.NONE;
            case ALWAYS -> Style.IN_PLACE;
            case AUTO -> stderrIsTerminal() ? Style.IN_PLACE : Style.LINES;
        };
    }

    long intervalNanos() {
        return (long) (Math.max(0.05, intervalSeconds) * 1e9);
    }

    TerminalProgress copyProgress(PrintWriter err) {
        return new TerminalProgress(err, style(), intervalNanos());
    }

    /**
     * Whether file descriptor 2 is a terminal (and TERM is not {@code dumb}). {@code System.console()}
     * asks about stdin and stdout instead, so the descriptor's target is read from /proc.
     */
    static boolean stderrIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (Exception e) {
            return System.console() != null;
        }
    }
}
