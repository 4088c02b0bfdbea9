package io.chainsync.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code chainsync} command line. */
@Command(name = "chainsync", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Reconstructs qcow2 image chains layer by layer from NBD servers.",
        subcommands = {CopyCommand.class, SyncCommand.class, StackCommand.class, ServiceCommands.Scanner.class,
            ServiceCommands.Planner.class, ServiceCommands.Copier.class, SubmitCommand.class, StatusCommand.class,
            VerifyCommand.class,
            JobControlCommands.Retry.class, JobControlCommands.Cancel.class,
            CommandLine.HelpCommand.class})
public final class Main {

    /** Exit code when a layer could not be reconstructed. */
    static final int EXIT_FAILED = 1;
    /** Exit code for a malformed command line. */
    static final int EXIT_USAGE = 2;
    /** Exit code when the broker or registry cannot be reached, or a job did not end in time. */
    static final int EXIT_UNREACHABLE = 3;

    public static void main(String[] args) {
        System.exit(run(args));
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
        CommandLine cli = new CommandLine(new Main());
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
        if (format != null && System.getProperty(LOG_FORMAT_PROPERTY) == null) {
            System.setProperty(LOG_FORMAT_PROPERTY, format);
        }
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
