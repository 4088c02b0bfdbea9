package io.chainsync.cli;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code chainsync} command line. */
@Command(name = "chainsync", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Reconstructs qcow2 image chains layer by layer from NBD servers.")
public final class Main {

    /** The subcommands, in the order {@code --help} lists them. */
    private static final List<Class<?>> COMMANDS = List.of(CopyCommand.class, SyncCommand.class, StackCommand.class,
            ServiceCommands.Scanner.class, ServiceCommands.Planner.class, ServiceCommands.Copier.class,
            SubmitCommand.class, StatusCommand.class, VerifyCommand.class, JobControlCommands.Retry.class,
            JobControlCommands.Cancel.class, CommandLine.HelpCommand.class);

    /** Exit code when a layer could not be reconstructed. */
    static final int EXIT_FAILED = 1;
    /** Exit code for a malformed command line. */
    static final int EXIT_USAGE = 2;
    /** Exit code when the broker or registry cannot be reached, or a job did not end in time. */
    static final int EXIT_UNREACHABLE = 3;

    /**
     * The commands that run a broker, Streams or a service: they log through log4j (log4j2.xml).
     * The others, the Kafka clients {@code submit}, {@code status}, {@code retry} and {@code cancel}
     * among them, print the same lines through {@link StderrLogging} unless the log is JSON.
     */
    private static final java.util.Set<String> LOG4J_COMMANDS = java.util.Set.of("sync", "stack", "scanner",
            "planner", "copier");

    public static void main(String[] args) {
        boolean log4j = args.length > 0 && LOG4J_COMMANDS.contains(args[0]);
        if (!log4j && !LogFormat.json.name().equals(requestedLogFormat(args, System.getenv()))) {
            StderrLogging.install(); // in text, without log4j's start-up
        }
        System.exit(run(args));
    }

    /** The log format asked for, or null; a malformed configuration is reported later by {@link #run}. */
    private static String requestedLogFormat(String[] args, java.util.Map<String, String> env) {
        try {
            return logFormat(args, new ConfigDefaults(env));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Runs a command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return run(System.getenv(), args);
    }

    /** Runs a command line with these environment variables for the options' defaults (for tests). */
    static int run(java.util.Map<String, String> env, String... args) {
        ConfigDefaults defaults;
        try {
            defaults = new ConfigDefaults(env);
        } catch (IllegalArgumentException e) {
            System.err.println("chainsync: " + e.getMessage());
            return EXIT_USAGE;
        }
        chooseLogFormat(args, defaults);
        CommandLine cli = commandLine(args);
        cli.setDefaultValueProvider(defaults);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof Unreachable) {
                commandLine.getErr().println("chainsync: " + e.getMessage());
                return EXIT_UNREACHABLE;
            }
            if (unreachable(e)) {
                commandLine.getErr().println("chainsync: unreachable: " + Reachability.reason(e));
                return EXIT_UNREACHABLE;
            }
            commandLine.getErr().println("chainsync: " + (e.getMessage() == null ? e : e.getMessage()));
            return EXIT_FAILED;
        });
        cli.setParameterExceptionHandler((e, args1) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("chainsync: " + e.getMessage());
            cmd.getErr().println("Try 'chainsync " + cmd.getCommandName().replace("chainsync", "").trim()
                    + " --help' for usage.");
            return EXIT_USAGE;
        });
        return cli.execute(args);
    }

    /** The log layout: {@code text} (one line per event) or {@code json} (one JSON object per line). */
    enum LogFormat { text, json }

    /** The system property log4j2.xml selects the layout by (read when logging starts). */
    static final String LOG_FORMAT_PROPERTY = "chainsync.log.format";

    @Option(names = "--log-format", paramLabel = "FORMAT", scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "text", description = "layout of the log on stderr: text or json (default ${DEFAULT-VALUE})")
    LogFormat logFormat;

    /**
     * Logging starts as soon as the commands are built, before the options are parsed: the log
     * format is looked up here first (the command line, the environment, the config file) and
     * handed to log4j2.xml. picocli checks the value afterwards.
     */
    static void chooseLogFormat(String[] args, ConfigDefaults defaults) {
        String format = logFormat(args, defaults);
        if (format != null && System.getProperty(LOG_FORMAT_PROPERTY) == null) {
            System.setProperty(LOG_FORMAT_PROPERTY, format);
        }
    }

    /** The format named on the command line, else in the environment or config file; null if none. */
    private static String logFormat(String[] args, ConfigDefaults defaults) {
        String format = defaults.value("log-format");
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--log-format=")) {
                format = args[i].substring("--log-format=".length());
            } else if (args[i].equals("--log-format") && i + 1 < args.length) {
                format = args[i + 1];
            } else if (args[i].equals("--")) {
                break;
            }
        }
        return format;
    }

    /**
     * The command line for these arguments. picocli builds the model of every subcommand it is given
     * (reflection over its options and mixins, which loads their classes: Kafka, logging, JSON):
     * when the first argument names a subcommand, only that one is registered, so that {@code copy}
     * starts without the services' classes. Otherwise (no subcommand, an option, {@code help}, a
     * misspelt name) all are, for the usage and the error messages.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(new Main());
        String first = args.length > 0 ? args[0] : "";
        List<Class<?>> named = COMMANDS.stream()
                .filter(c -> !c.equals(CommandLine.HelpCommand.class) && c.getAnnotation(Command.class).name().equals(first))
                .toList();
        for (Class<?> command : named.isEmpty() ? COMMANDS : named) {
            cli.addSubcommand(command);
        }
        return cli;
    }

    /** A connection refused or a Kafka client's timeout anywhere in the chain of causes. */
    private static boolean unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.net.ConnectException || t instanceof org.apache.kafka.common.errors.TimeoutException
                    || t instanceof java.net.http.HttpConnectTimeoutException) {
                return true;
            }
        }
        return false;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"chainsync " + (v == null ? "dev" : v)};
        }
    }
}
