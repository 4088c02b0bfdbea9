package io.chainsync.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What a directory holds, for "nothing changed" assertions: every entry below it (relative name)
 * with the SHA-256 of a regular file's bytes, "directory", or "link to TARGET"; links are not
 * followed. Two snapshots are equal when no file was added, removed or changed (temporary files
 * included).
 */
public final class DirContents {

    private DirContents() {
    }

    public static Map<String, String> of(Path dir) {
        Map<String, String> contents = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                if (path.equals(dir)) {
                    continue;
                }
                String name = dir.relativize(path).toString();
                if (Files.isSymbolicLink(path)) {
                    contents.put(name, "link to " + Files.readSymbolicLink(path));
                } else if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    contents.put(name, "directory");
                } else {
                    contents.put(name, sha256(Files.readAllBytes(path)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return contents;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
