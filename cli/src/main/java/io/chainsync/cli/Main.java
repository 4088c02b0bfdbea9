package io.chainsync.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

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

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (for tests). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
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

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"chainsync " + (v == null ? "dev" : v)};
        }
    }
}
