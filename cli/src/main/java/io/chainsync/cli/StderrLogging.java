package io.chainsync.cli;

import java.io.PrintStream;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.KeyValuePair;
import org.slf4j.event.Level;
import org.slf4j.event.LoggingEvent;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.LoggingEventAware;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The SLF4J provider of the commands that run no broker, Streams or service ({@code copy},
 * {@code verify}, the usage, and the clients {@code submit}, {@code status}, {@code retry},
 * {@code cancel}): the lines log4j2.xml would print, on stderr, without log4j's start-up.
 * Configuring log4j (its plugins, its XML configuration) costs about a second of CPU, 0.4 s of a
 * {@code submit}'s start. Levels as in log4j2.xml: {@code io.chainsync.ops} at
 * {@code CHAINSYNC_OPS_LOG_LEVEL} (default INFO), {@code io.chainsync.timing} at
 * {@code CHAINSYNC_TIMING_LOG_LEVEL} (default WARN), {@code io.chainsync} at
 * {@code CHAINSYNC_LOG_LEVEL} (default WARN), Kafka's {@code NetworkClient} and
 * {@code ControllerApis} off (their connection failures reach chainsync's own one-line errors), any
 * other logger at ERROR ({@code StderrLoggingTest} reads log4j2.xml and holds the two together); a line is
 * {@code HH:mm:ss.SSS LEVEL Logger - message {key=value, ...}}, as the pattern there.
 */
public final class StderrLogging implements SLF4JServiceProvider {

    private final IMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new NOPMDCAdapter();
    private ILoggerFactory loggers;

    /**
     * Makes this the provider of the process unless one was chosen ({@code -Dslf4j.provider}); call
     * before the first logger is created.
     */
    static void install() {
        if (System.getProperty("slf4j.provider") == null) {
            System.setProperty("slf4j.provider", StderrLogging.class.getName());
            if (System.getProperty("slf4j.internal.verbosity") == null) {
                System.setProperty("slf4j.internal.verbosity", "WARN"); // not the line naming the provider
            }
        }
    }

    @Override
    public void initialize() {
        Map<String, String> env = System.getenv();
        int ops = level(env.get("CHAINSYNC_OPS_LOG_LEVEL"), Level.INFO.toInt());
        int own = level(env.get("CHAINSYNC_LOG_LEVEL"), Level.WARN.toInt());
        int timing = level(env.get("CHAINSYNC_TIMING_LOG_LEVEL"), Level.WARN.toInt());
        loggers = name -> new StderrLogger(name, threshold(name, ops, own, timing), System.err);
    }

    /** The least level a logger prints: by the most specific of log4j2.xml's names. */
    static int threshold(String name, int ops, int own, int timing) {
        if (under(name, "io.chainsync.ops")) {
            return ops;
        }
        if (under(name, "io.chainsync.timing")) {
            return timing;
        }
        if (under(name, "io.chainsync")) {
            return own;
        }
        if (under(name, "org.apache.kafka.clients.NetworkClient") || under(name, "kafka.server.ControllerApis")) {
            return Integer.MAX_VALUE;
        }
        return Level.ERROR.toInt();
    }

    private static boolean under(String name, String parent) {
        return name.equals(parent) || name.startsWith(parent + ".");
    }

    /** A log4j level name (any case; OFF too), or the default when unset or unknown. */
    static int level(String name, int fallback) {
        if (name == null || name.isBlank()) {
            return fallback;
        }
        String n = name.strip().toUpperCase(Locale.ROOT);
        if (n.equals("OFF")) {
            return Integer.MAX_VALUE;
        }
        if (n.equals("ALL")) {
            return Integer.MIN_VALUE;
        }
        if (n.equals("FATAL")) {
            return Level.ERROR.toInt();
        }
        for (Level l : Level.values()) {
            if (l.name().equals(n)) {
                return l.toInt();
            }
        }
        return fallback;
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return loggers;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return "2.0.99";
    }

    /** One logger: a threshold and the stream it prints on. */
    static final class StderrLogger extends LegacyAbstractLogger implements LoggingEventAware {
        private static final long serialVersionUID = 1L;
        /** Built with the first line: java.time's formatting classes load only when something is printed. */
        private static volatile DateTimeFormatter time;
        private final transient int threshold;
        private final transient PrintStream out;
        private final transient String shortName;

        StderrLogger(String name, int threshold, PrintStream out) {
            this.name = name;
            this.threshold = threshold;
            this.out = out;
            this.shortName = name.substring(name.lastIndexOf('.') + 1);
        }

        private boolean enabled(Level level) {
            return level.toInt() >= threshold;
        }

        @Override
        public boolean isTraceEnabled() {
            return enabled(Level.TRACE);
        }

        @Override
        public boolean isDebugEnabled() {
            return enabled(Level.DEBUG);
        }

        @Override
        public boolean isInfoEnabled() {
            return enabled(Level.INFO);
        }

        @Override
        public boolean isWarnEnabled() {
            return enabled(Level.WARN);
        }

        @Override
        public boolean isErrorEnabled() {
            return enabled(Level.ERROR);
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String message, Object[] arguments,
                Throwable throwable) {
            print(level, message, arguments, List.of(), throwable);
        }

        /** The fluent API's events ({@code atWarn().addKeyValue(...)}), with their key-value pairs. */
        @Override
        public void log(LoggingEvent event) {
            if (enabled(event.getLevel())) {
                List<KeyValuePair> pairs = event.getKeyValuePairs();
                print(event.getLevel(), event.getMessage(), event.getArgumentArray(), pairs == null ? List.of() : pairs,
                        event.getThrowable());
            }
        }

        private void print(Level level, String message, Object[] arguments, List<KeyValuePair> pairs,
                Throwable throwable) {
            Map<String, Object> context = new TreeMap<>();
            for (KeyValuePair p : pairs) {
                context.put(p.key, p.value);
            }
            if (time == null) {
                time = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
            }
            String text = String.format("%s %-5s %s - %s %s", LocalTime.now().format(time), level, shortName,
                    MessageFormatter.basicArrayFormat(message, arguments), context);
            synchronized (out) {
                out.println(text);
                if (throwable != null) {
                    throwable.printStackTrace(out);
                }
            }
        }
    }
}
