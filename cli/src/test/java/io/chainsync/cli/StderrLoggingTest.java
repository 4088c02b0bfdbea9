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
    private static final int DEBUG = Level.DEBUG.toInt();
    private static final int OFF = Integer.MAX_VALUE;

    @Test
    void levelsByLoggerNameAsLog4jConfigures() {
        assertEquals(INFO, StderrLogging.threshold("io.chainsync.ops", INFO, WARN, DEBUG));
        assertEquals(INFO, StderrLogging.threshold("io.chainsync.ops.Copier", INFO, WARN, DEBUG));
        assertEquals(WARN, StderrLogging.threshold("io.chainsync.opsx", INFO, WARN, DEBUG));
        assertEquals(WARN, StderrLogging.threshold("io.chainsync.jobs.ChainCopier", INFO, WARN, DEBUG));
        assertEquals(ERROR, StderrLogging.threshold("io.chainsyncer.X", INFO, WARN, DEBUG));
        assertEquals(OFF, StderrLogging.threshold("org.apache.kafka.clients.NetworkClient", INFO, WARN, DEBUG));
        assertEquals(DEBUG, StderrLogging.threshold("io.chainsync.timing", INFO, WARN, DEBUG));
        assertEquals(ERROR, StderrLogging.threshold("org.apache.kafka.clients.consumer.KafkaConsumer", INFO, WARN, DEBUG));
    }

    /**
     * Every logger log4j2.xml configures, and a logger under it, gets the same level here: the
     * variables of its {@code ${env:NAME:-DEFAULT}} levels given distinct values, the root's level
     * for a logger it does not name.
     */
    @Test
    void levelsAreLog4jXmlsOwn() throws Exception {
        java.util.Map<String, Integer> variables = java.util.Map.of("CHAINSYNC_OPS_LOG_LEVEL", INFO,
                "CHAINSYNC_LOG_LEVEL", WARN, "CHAINSYNC_TIMING_LOG_LEVEL", DEBUG);
        org.w3c.dom.Document xml;
        try (java.io.InputStream in = StderrLogging.class.getResourceAsStream("/log4j2.xml")) {
            xml = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in);
        }
        java.util.regex.Pattern env = java.util.regex.Pattern.compile("\\$\\{env:([A-Z_]+):-[A-Z]+}");
        org.w3c.dom.NodeList loggers = xml.getElementsByTagName("Logger");
        int checked = 0;
        for (int i = 0; i < loggers.getLength(); i++) {
            org.w3c.dom.Element logger = (org.w3c.dom.Element) loggers.item(i);
            String name = logger.getAttribute("name");
            String level = logger.getAttribute("level");
            java.util.regex.Matcher m = env.matcher(level);
            int expected = m.matches() ? variables.get(m.group(1)) : StderrLogging.level(level, -1);
            assertEquals(expected, StderrLogging.threshold(name, INFO, WARN, DEBUG), name);
            assertEquals(expected, StderrLogging.threshold(name + ".Inner", INFO, WARN, DEBUG), name + ".Inner");
            checked++;
        }
        assertTrue(checked >= 5, "log4j2.xml names its loggers");
        String root = ((org.w3c.dom.Element) xml.getElementsByTagName("Root").item(0)).getAttribute("level");
        assertEquals(StderrLogging.level(root, -1), StderrLogging.threshold("org.example.Other", INFO, WARN, DEBUG));
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
