package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.chainsync.kafka.ServiceMetrics;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** docs/operations.md lists every environment variable an option reads and every chainsync meter. */
class OperationsDocTest {

    static final Path DOC = Path.of("..", "docs", "operations.md");

    @Test
    void everyOptionsVariableIsListed() throws Exception {
        String doc = Files.readString(DOC);
        TreeSet<String> missing = new TreeSet<>();
        CommandLine root = Main.commandLine();
        for (CommandLine sub : root.getSubcommands().values()) {
            for (OptionSpec option : sub.getCommandSpec().options()) {
                if (option.usageHelp() || option.versionHelp()) {
                    continue;
                }
                String variable = ConfigDefaults.variable(option);
                if (!doc.contains("`" + variable + "`")) {
                    missing.add(variable + " (" + sub.getCommandName() + " " + option.longestName() + ")");
                }
            }
        }
        assertEquals(List.of(), List.copyOf(missing), "variables missing from docs/operations.md");
    }

    @Test
    void everyMeterIsListed() throws Exception {
        String doc = Files.readString(DOC);
        TreeSet<String> missing = new TreeSet<>();
        for (Field f : ServiceMetrics.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
                String prometheus = ((String) f.get(null)).replace('.', '_');
                if (!doc.contains(prometheus)) {
                    missing.add(prometheus);
                }
            }
        }
        assertEquals(List.of(), List.copyOf(missing), "meters missing from docs/operations.md");
    }
}
