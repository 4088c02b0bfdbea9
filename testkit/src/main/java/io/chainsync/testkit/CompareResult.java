package io.chainsync.testkit;

/**
 * The result of {@code qemu-img compare} (exit 0 or 1; exit 2 is an error and throws).
 *
 * @param identical true when qemu-img reported "Images are identical."
 * @param message   qemu-img's message without the trailing '!', e.g.
 *                  {@code "Content mismatch at offset 131072"}
 */
public record CompareResult(boolean identical, String message) {

    /** The offset from a "Content mismatch at offset N" message, or -1. */
    public long mismatchOffset() {
        var m = java.util.regex.Pattern.compile("offset (\\d+)").matcher(message);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
}
