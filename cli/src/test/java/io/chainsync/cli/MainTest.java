package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** picocli is given only the subcommand named first; every one for the usage and for a misspelt name. */
class MainTest {

    private static final List<String> ALL = List.of("copy", "sync", "stack", "scanner", "planner", "copier", "submit",
            "status", "verify", "retry", "cancel", "help");

    @Test
    void aNamedSubcommandAlone() {
        assertEquals(List.of("copy"), List.copyOf(Main.commandLine("copy", "--dest", "d").getSubcommands().keySet()));
        assertEquals(List.of("verify"), List.copyOf(Main.commandLine("verify").getSubcommands().keySet()));
    }

    @Test
    void everySubcommandForTheUsageHelpAndUnknownNames() {
        assertEquals(ALL, List.copyOf(Main.commandLine().getSubcommands().keySet()));
        assertEquals(ALL, List.copyOf(Main.commandLine("--help").getSubcommands().keySet()));
        assertEquals(ALL, List.copyOf(Main.commandLine("help", "copy").getSubcommands().keySet()));
        assertEquals(ALL, List.copyOf(Main.commandLine("cpy").getSubcommands().keySet()));
    }
}
