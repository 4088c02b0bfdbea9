package io.chainsync.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.DefaultConfiguration;

/**
 * While {@code chainsync sync} runs, the log of everything it embeds (the broker, the Kafka clients, Streams, the
 * registry client) goes to a file in its work directory instead of the terminal ({@code log4j2-sync.xml}); chainsync's
 * own warnings and errors still reach stderr, one line each. {@link #close()} puts the previous logging back.
 */
final class SyncLog implements AutoCloseable {

    static final String FILE_PROPERTY = "chainsync.sync.log";
    private static final String CONFIG = "/log4j2-sync.xml";

    private final LoggerContext context;
    private final URI previous;
    private final Path file;

    private SyncLog(LoggerContext context, URI previous, Path file) {
        this.context = context;
        this.previous = previous;
        this.file = file;
    }

    /** Sends the log to {@code file} until {@link #close()}; a no-op (the log stays where it was) without log4j. */
    static SyncLog to(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the directory of " + file, e);
        }
        if (!(LogManager.getContext(false) instanceof LoggerContext context)) {
            return new SyncLog(null, null, file);
        }
        URI previous = context.getConfiguration().getConfigurationSource().getURI();
        System.setProperty(FILE_PROPERTY, file.toString());
        try {
            context.setConfigLocation(SyncLog.class.getResource(CONFIG).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return new SyncLog(context, previous, file);
    }

    /** Where the log goes. */
    Path file() {
        return file;
    }

    /** Puts the previous logging configuration back (and closes the file). */
    @Override
    public void close() {
        if (context == null) {
            return;
        }
        if (previous != null) {
            context.setConfigLocation(previous);
        } else {
            context.setConfiguration(new DefaultConfiguration());
        }
        System.clearProperty(FILE_PROPERTY);
    }
}
