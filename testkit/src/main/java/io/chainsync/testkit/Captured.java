package io.chainsync.testkit;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;

/**
 * A command run in this process with {@code System.out} and {@code System.err} captured: its exit
 * code and what it printed (e.g. {@code Captured.run(() -> Main.run(args))}).
 */
public record Captured(int code, String out, String err) {

    public static Captured run(IntSupplier command) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = command.getAsInt();
            return new Captured(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** Whether the error output is exactly one line and shows no stack trace. */
    public boolean oneErrorLine() {
        String e = err.strip();
        return !e.isEmpty() && e.lines().count() == 1 && !e.contains("\tat ");
    }
}
