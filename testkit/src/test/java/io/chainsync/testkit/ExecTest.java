package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExecTest {

    @Test
    void capturesOutputAndExitCode() {
        Exec.Result r = Exec.run("sh", "-c", "echo out; echo err >&2; exit 3");
        assertEquals(3, r.exitCode());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        IllegalStateException e = assertThrows(IllegalStateException.class, r::expectSuccess);
        assertTrue(e.getMessage().contains("sh -c 'echo out; echo err >&2; exit 3'"), e.getMessage());
        assertTrue(e.getMessage().contains("err"), e.getMessage());
        assertEquals(r, r.expect(0, 3));
    }

    @Test
    void stdoutAsJson() {
        Exec.Result r = Exec.run("sh", "-c", "printf '%s\\n' '{\"a\": [1, 2]}'");
        assertEquals(2, r.expectSuccess().json().get("a").size());
        for (String bad : List.of("{\"a\":1", "[1,]", "{} x", "", "  \n")) {
            Exec.Result b = new Exec.Result(List.of("tool", "--json"), 0, bad, "");
            IllegalStateException e = assertThrows(IllegalStateException.class, b::json, bad);
            assertTrue(e.getMessage().contains("JSON from tool --json"), e.getMessage());
        }
    }

    @Test
    void killsOnTimeout() {
        long t0 = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Exec.run(List.of("sleep", "30"), Duration.ofMillis(200), null));
        assertTrue(e.getMessage().contains("timed out"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
    }
}
