package io.chainsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * The result of {@code qemu-img check --output=json}.
 *
 * @param exitCode qemu-img's exit code: 0 clean, 1 check not completed (error), 2 corruptions,
 *                 3 leaks only, 63 format does not support checks
 * @param json     parsed report, or an empty object when none (or no JSON) was printed
 * @param stderr   qemu-img's stderr
 */
public record CheckResult(int exitCode, JsonNode json, String stderr) {

    /** The result of a finished {@code qemu-img check --output=json}, whatever its exit code. */
    static CheckResult of(Exec.Result r) {
        JsonNode json = JsonNodeFactory.instance.objectNode();
        if (r.stdout().strip().startsWith("{")) {
            try {
                json = r.json();
            } catch (IllegalStateException e) {
                // a truncated report: the exit code and stderr still tell
            }
        }
        return new CheckResult(r.exitCode(), json, r.stderr());
    }

    /** Exit code 0 and no errors, corruptions or leaks reported. */
    public boolean isClean() {
        return exitCode == 0 && count("check-errors") == 0 && count("corruptions") == 0
                && count("leaks") == 0 && count("corruptions-fixed") == 0 && count("leaks-fixed") == 0;
    }

    private long count(String key) {
        JsonNode v = json.get(key);
        return v != null && v.isNumber() ? v.longValue() : 0;
    }

    /** One-line description for failure messages. */
    public String describe() {
        return "exit " + exitCode + ", corruptions=" + count("corruptions") + ", leaks=" + count("leaks")
                + ", check-errors=" + count("check-errors")
                + (stderr.isBlank() ? "" : ", stderr: " + stderr.strip().replace('\n', ' '));
    }
}
