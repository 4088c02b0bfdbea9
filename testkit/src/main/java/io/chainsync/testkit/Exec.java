package io.chainsync.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short-lived external command with a timeout and captures stdout and stderr.
 *
 * <p>The command is killed (forcibly) when the timeout expires; that is reported as an
 * {@link IllegalStateException} carrying the command line and whatever output was captured.
 */
public final class Exec {

    /** Default timeout for qemu-img / qemu-io / nbdinfo invocations. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

    /** Reads the JSON the tools print ({@code qemu-img --output=json}, {@code nbdinfo --json}). */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Exec() {
    }

    /**
     * The outcome of one finished command.
     *
     * @param command  the argv that was run
     * @param exitCode the process exit code
     * @param stdout   captured standard output (UTF-8)
     * @param stderr   captured standard error (UTF-8)
     */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {

        /** The command line, shell-quoted for humans. */
        public String commandLine() {
            return Exec.quote(command);
        }

        /**
         * Returns {@code this} if the exit code is one of {@code allowed}, else throws.
         *
         * @throws IllegalStateException with command line, exit code, stdout and stderr
         */
        public Result expect(int... allowed) {
            for (int a : allowed) {
                if (a == exitCode) {
                    return this;
                }
            }
            throw new IllegalStateException("command failed (exit " + exitCode + ", expected "
                    + Arrays.toString(allowed) + "): " + commandLine()
                    + "\n--- stderr ---\n" + stderr.strip()
                    + (stdout.isBlank() ? "" : "\n--- stdout ---\n" + abbreviate(stdout.strip())));
        }

        /** Same as {@code expect(0)}. */
        public Result expectSuccess() {
            return expect(0);
        }

        /**
         * Standard output parsed as one JSON document.
         *
         * @throws IllegalStateException when it is not exactly one JSON document, with the command
         *                               line and the output
         */
        public JsonNode json() {
            return parseJson(stdout, commandLine());
        }
    }

    /**
     * Parses {@code text} as exactly one JSON document (surrounding whitespace allowed).
     *
     * @param source what printed it, for the message
     * @throws IllegalStateException on empty or malformed input or trailing characters
     */
    static JsonNode parseJson(String text, String source) {
        try {
            JsonNode node = JSON.readTree(text);
            if (node == null || node.isMissingNode()) {
                throw new IllegalStateException("no JSON from " + source);
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("not JSON from " + source + ": " + e.getOriginalMessage()
                    + "\n--- output ---\n" + abbreviate(text.strip()), e);
        }
    }

    /** Runs {@code command} with {@link #DEFAULT_TIMEOUT}. Does not check the exit code. */
    public static Result run(List<String> command) {
        return run(command, DEFAULT_TIMEOUT, null);
    }

    /** Runs {@code command} with {@link #DEFAULT_TIMEOUT}. Does not check the exit code. */
    public static Result run(String... command) {
        return run(List.of(command));
    }

    /**
     * Runs a command and waits for it.
     *
     * @param command argv
     * @param timeout kill the process when it has not finished after this long
     * @param workDir working directory, or {@code null} for the JVM's
     * @return the result; the exit code is not checked
     * @throws IllegalStateException on timeout or if the process cannot be started
     */
    public static Result run(List<String> command, Duration timeout, Path workDir) {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start: " + quote(command) + ": " + e.getMessage(), e);
        }
        Drain out = new Drain(p.getInputStream());
        Drain err = new Drain(p.getErrorStream());
        out.start();
        err.start();
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + quote(command), e);
        }
        if (!done) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("timed out after " + timeout + ": " + quote(command)
                    + "\n--- stderr ---\n" + err.text() + "\n--- stdout ---\n" + abbreviate(out.text()));
        }
        out.await();
        err.await();
        return new Result(List.copyOf(command), p.exitValue(), out.text(), err.text());
    }

    /** Shell-quotes an argv for messages. */
    public static String quote(List<String> argv) {
        List<String> parts = new ArrayList<>();
        for (String a : argv) {
            if (a.matches("[A-Za-z0-9_./:=,+@%-]+")) {
                parts.add(a);
            } else {
                parts.add("'" + a.replace("'", "'\\''") + "'");
            }
        }
        return String.join(" ", parts);
    }

    static String abbreviate(String s) {
        return s.length() <= 4000 ? s : s.substring(0, 4000) + "…(" + s.length() + " chars)";
    }

    /** Reads a stream fully on a daemon thread. */
    static final class Drain extends Thread {
        private final InputStream in;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        Drain(InputStream in) {
            this.in = in;
            setDaemon(true);
            setName("exec-drain");
        }

        @Override
        public void run() {
            byte[] b = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(b)) > 0) {
                    synchronized (buf) {
                        buf.write(b, 0, n);
                    }
                }
            } catch (IOException e) {
                // process went away; keep what we have
            }
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }

        void await() {
            try {
                join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
