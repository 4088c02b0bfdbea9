package io.chainsync.qcow2;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs qemu-img / qemu-io for integration tests. */
final class Qemu {

    record Result(int exitCode, String stdout, String stderr) {
        Result ok() {
            if (exitCode != 0) {
                throw new AssertionError("command failed (" + exitCode + "): " + stderr + stdout);
            }
            return this;
        }
    }

    private Qemu() {
    }

    static Result run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timeout: " + String.join(" ", cmd));
        }
        return new Result(p.exitValue(), out.join(), err.join());
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                in.transferTo(b);
                return b.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /** json: filename opening a qcow2 layer alone (backing:null). */
    static String alone(Path qcow2) {
        return "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\""
                + qcow2.toAbsolutePath() + "\"}}";
    }

    static Map<String, Object> check(Path image) throws IOException, InterruptedException {
        Result r = run("qemu-img", "check", "--output=json", image.toString());
        if (r.exitCode() != 0) {
            throw new AssertionError("qemu-img check exit " + r.exitCode() + ": " + r.stdout() + r.stderr());
        }
        return Json.object(r.stdout());
    }

    static Map<String, Object> info(Path image) throws IOException, InterruptedException {
        return Json.object(run("qemu-img", "info", "--output=json", image.toString()).ok().stdout());
    }

    static List<Map<String, Object>> mapAlone(Path qcow2) throws IOException, InterruptedException {
        return Json.arrayOfObjects(run("qemu-img", "map", "--output=json", alone(qcow2)).ok().stdout());
    }

    /** Converts {@code source} (a filename or json: filename) to a raw file. */
    static void convertToRaw(String source, Path raw) throws IOException, InterruptedException {
        run("qemu-img", "convert", "-O", "raw", source, raw.toString()).ok();
    }

    static void io(Path image, String format, String... commands) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", format));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(image.toString());
        Result r = run(cmd.toArray(new String[0])).ok();
        if (r.stdout().contains("error") || r.stdout().contains("failed") || r.stdout().contains("Pattern verification")) {
            throw new AssertionError("qemu-io: " + r.stdout());
        }
    }

    static boolean available() {
        try {
            return run("qemu-img", "--version").exitCode() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
