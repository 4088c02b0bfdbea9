package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NbdkitServerIT {

    @TempDir
    Path tmp;

    @Test
    void servesWithFiltersAndStops() {
        NbdkitServer s = NbdkitServer.builder("memory").param("size", "1M")
                .filter("delay").param("rdelay", "1ms")
                .filter("error").param("error-pread-rate", "0%")
                .start(tmp);
        try {
            assertEquals(1 << 20, NbdInfo.size(s.uri()));
            assertTrue(s.command().contains("--filter=delay"), s.command().toString());
        } finally {
            s.close();
        }
        assertFalse(s.isAlive());
        assertFalse(Files.exists(s.socket()));
    }

    @Test
    void errorFilterMakesReadsFail() throws Exception {
        Path f = tmp.resolve("disk.raw");
        Files.write(f, new byte[64 * 1024]);
        try (NbdkitServer s = NbdkitServer.builder("file").param("file", f.toString()).readOnly(true)
                .filter("error").param("error", "EIO").param("error-pread-rate", "100%").start(tmp)) {
            Exec.Result r = Exec.run("nbdcopy", s.uri(), "null:");
            assertNotEquals(0, r.exitCode(), r.stderr());
        }
    }

    @Test
    void badPluginFailsWithOutput() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> NbdkitServer.builder("no-such-plugin").start(tmp));
        assertTrue(e.getMessage().contains("no-such-plugin"), e.getMessage());
    }
}
