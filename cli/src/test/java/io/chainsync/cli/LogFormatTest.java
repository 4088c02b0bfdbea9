package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The log format is found before logging starts: the command line, then the environment, then the config file. */
class LogFormatTest {

    @TempDir
    Path tmp;

    @AfterEach
    void clear() {
        System.clearProperty(Main.LOG_FORMAT_PROPERTY);
    }

    private static String chosen(Map<String, String> env, String... args) {
        System.clearProperty(Main.LOG_FORMAT_PROPERTY);
        Main.chooseLogFormat(args, new ConfigDefaults(env));
        return System.getProperty(Main.LOG_FORMAT_PROPERTY);
    }

    @Test
    void theCommandLineWinsOverTheEnvironmentAndTheFile() throws Exception {
        Path file = Files.writeString(tmp.resolve("chainsync.properties"), "log-format=json\n");
        Map<String, String> withFile = Map.of("CHAINSYNC_CONFIG", file.toString());
        assertNull(chosen(Map.of(), "scanner"));
        assertEquals("json", chosen(withFile, "scanner"));
        assertEquals("text", chosen(Map.of("CHAINSYNC_CONFIG", file.toString(), "CHAINSYNC_LOG_FORMAT", "text"),
                "scanner"));
        assertEquals("json", chosen(Map.of("CHAINSYNC_LOG_FORMAT", "text"), "scanner", "--log-format=json"));
        assertEquals("text", chosen(withFile, "copier", "--log-format", "text", "--dest-root", "/d"));
        assertEquals("json", chosen(withFile, "copy", "--", "--log-format=text"));
    }

    @Test
    void aBadFormatIsAUsageError() {
        assertEquals(Main.EXIT_USAGE, Main.run(Map.of(), "status", "--log-format", "xml"));
    }
}
