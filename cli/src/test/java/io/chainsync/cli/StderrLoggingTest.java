package io.chainsync.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/** The one-process commands' logging prints what log4j2.xml would, at the levels it sets. */
class StderrLoggingTest {

    private static final int INFO = Level.INFO.toInt();
    private static final int WARN = Level.WARN.toInt();
    private static final int ERROR = Level.ERROR.toInt();

    @Test
    void levelsByLoggerNameAsLog4jConfigures() {
        assertEquals(INFO, StderrLogging.threshold("io.chainsync.ops", INFO, WARN));
        assertEquals(INFO, StderrLogging.threshold("io.chainsync.ops.Copier", INFO, WARN));
        assertEquals(WARN, StderrLogging.threshold("io.chainsync.opsx", INFO, WARN));
        assertEquals(WARN, StderrLogging.threshold("io.chainsync.jobs.ChainCopier", INFO, WARN));
        assertEquals(ERROR, StderrLogging.threshold("io.chainsyncer.X", INFO, WARN));
        assertEquals(ERROR, StderrLogging.threshold("org.apache.kafka.clients.NetworkClient", INFO, WARN));
    }

    @Test
    void levelNamesInAnyCaseUnknownOnesFallBack() {
        assertEquals(Level.DEBUG.toInt(), StderrLogging.level("debug", WARN));
        assertEquals(INFO, StderrLogging.level(" INFO ", WARN));
        assertEquals(ERROR, StderrLogging.level("fatal", WARN));
        assertEquals(Integer.MAX_VALUE, StderrLogging.level("off", WARN));
        assertEquals(WARN, StderrLogging.level("verbose", WARN));
        assertEquals(WARN, StderrLogging.level(null, WARN));
        assertEquals(WARN, StderrLogging.level("", WARN));
    }

    @Test
    void lineHasThePatternsFieldsAndSortedKeyValues() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StderrLogging.StderrLogger logger = new StderrLogging.StderrLogger("io.chainsync.jobs.ChainCopier", WARN,
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        logger.atWarn().setMessage("layer copy failed, retrying").addKeyValue("layer", "x.qcow2")
                .addKeyValue("attempt", 2).log();
        logger.atInfo().setMessage("not printed").log();
        logger.warn("plain {} of {}", 3, 4);
        logger.error("with a cause", new IllegalStateException("boom"));
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertTrue(lines[0].matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN  ChainCopier - layer copy failed, retrying"
                + " \\{attempt=2, layer=x.qcow2}"), lines[0]);
        assertTrue(lines[1].endsWith(" WARN  ChainCopier - plain 3 of 4 {}"), lines[1]);
        assertTrue(lines[2].endsWith(" ERROR ChainCopier - with a cause {}"), lines[2]);
        assertEquals("java.lang.IllegalStateException: boom", lines[3]);
        assertFalse(bytes.toString(StandardCharsets.UTF_8).contains("not printed"));
    }
}
