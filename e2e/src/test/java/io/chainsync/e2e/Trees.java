package io.chainsync.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Removing a directory tree, for the tests and for the benchmarks that run the e2e classes on the
 * CLI's class path (where {@link PipelineStack}, a JUnit extension, cannot be loaded).
 */
final class Trees {

    private Trees() {
    }

    /** Deletes {@code dir} and everything under it; nothing when it does not exist. */
    static void delete(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p); // a copier may remove its lock meanwhile
            }
        }
    }
}
