package io.chainsync.copier;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.Predicate;

/**
 * A destination belongs to one running job at a time: {@code .chainsync.lock} in the destination
 * directory names the job that holds it (docs/design.md §3, "Faults"). The first task of a job
 * takes it before writing anything; a task of another job finds it held and fails its job at
 * once, before a byte is written. The lock of a job that has ended (as {@code chainsync.status}
 * says) is stale and may be taken over; copiers remove it once the job ends.
 */
public final class DestLock {

    static final String NAME = ".chainsync.lock";

    private DestLock() {
    }

    /**
     * Takes (or confirms) the lock of {@code dir} for {@code job}.
     *
     * @param ended whether a job has ended (a lock it holds is stale)
     * @throws DestinationHeldException when a running job holds it
     */
    public static void acquire(Path dir, String job, Predicate<String> ended) throws IOException {
        Path lock = dir.resolve(NAME);
        for (int attempt = 0; attempt < 3; attempt++) {
            String holder = holder(dir);
            if (job.equals(holder)) {
                return;
            }
            if (holder == null) {
                try {
                    Files.write(lock, job.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE);
                    LayerFiles.forceDirectory(dir);
                } catch (FileAlreadyExistsException raced) {
                    continue;
                }
            } else if (ended.test(holder)) {
                Path tmp = dir.resolve(NAME + "." + job + ".tmp");
                Files.write(tmp, job.getBytes(StandardCharsets.UTF_8));
                Files.move(tmp, lock, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                LayerFiles.forceDirectory(dir);
            } else {
                throw new DestinationHeldException("destination " + dir + " is held by running job " + holder);
            }
        }
        String holder = holder(dir);
        if (!job.equals(holder)) {
            throw new DestinationHeldException("destination " + dir + " is held by running job " + holder);
        }
    }

    /** The job holding the lock of {@code dir}, or null. */
    public static String holder(Path dir) throws IOException {
        try {
            return new String(Files.readAllBytes(dir.resolve(NAME)), StandardCharsets.UTF_8).trim();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Releases the lock of {@code dir} if {@code job} holds it. */
    public static void release(Path dir, String job) throws IOException {
        if (job.equals(holder(dir))) {
            Files.deleteIfExists(dir.resolve(NAME));
            LayerFiles.forceDirectory(dir);
        }
    }

    /** Another running job holds the destination: permanent for this job. */
    public static final class DestinationHeldException extends IOException {
        public DestinationHeldException(String message) {
            super(message);
        }
    }
}
