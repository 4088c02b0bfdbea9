package io.chainsync.copier;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.util.function.Predicate;

/**
 * A destination belongs to one running job at a time: {@code .chainsync.lock} in the destination
 * directory names the job that holds it (docs/design.md §3, "Faults"). The first task of a job
 * takes it before writing anything; a task of another job finds it held and fails its job at
 * once, before a byte is written. The lock of a job that has ended (as {@code chainsync.status}
 * says) is stale and may be taken over; copiers remove it once the job ends. The lock is created
 * exclusively and read without following a link (docs/design.md §3, "Confinement").
 */
public final class DestLock {

    static final String NAME = ".chainsync.lock";
    /** A job id is a short string; a larger lock file is not read. */
    private static final int MAX_BYTES = 64 << 10;

    /** How often an empty lock is read again (20 ms apart) before it counts as abandoned. */
    private static final int EMPTY_READS = 150;

    private DestLock() {
    }

    private static void pause() throws java.io.InterruptedIOException {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for the destination lock");
        }
    }

    /**
     * Takes (or confirms) the lock of {@code dir} for {@code job}.
     *
     * @param ended whether a job has ended (a lock it holds is stale)
     * @throws DestinationHeldException when a running job holds it
     */
    public static void acquire(DestDir dir, String job, Predicate<String> ended) throws IOException {
        acquire(dir, job, ended, () -> { });
    }

    /**
     * Takes (or confirms) the lock of {@code dir} for {@code job}; {@code check} runs whenever this
     * call takes the lock for the job, before the lock names the job: a lock naming a job therefore
     * means that its check passed, and the job's other tasks (which wait while the lock is empty)
     * write nothing before it has. When the check fails the lock is given up and its error thrown.
     *
     * @param ended whether a job has ended (a lock it holds is stale)
     * @param check what must hold before the job writes anything to the destination
     * @throws DestinationHeldException when a running job holds it
     */
    public static void acquire(DestDir dir, String job, Predicate<String> ended, Check check) throws IOException {
        byte[] content = job.getBytes(StandardCharsets.UTF_8);
        int emptyReads = 0;
        for (int attempt = 0; attempt < 3; ) {
            String holder = holder(dir);
            if (job.equals(holder)) {
                return;
            }
            if (holder != null && holder.isEmpty()) {
                // created an instant ago and not written yet (the creator writes right after the
                // exclusive create): wait; one left empty for seconds lost its creator: stale
                if (++emptyReads < EMPTY_READS) {
                    pause();
                    continue;
                }
                check.run();
                dir.writeAtomically(NAME, out -> out.write(content));
                attempt++;
                continue;
            }
            attempt++;
            if (holder == null) {
                try (FileChannel lock = dir.createNew(NAME)) {
                    try {
                        check.run();
                    } catch (IOException | RuntimeException e) {
                        dir.delete(NAME); // still empty: no other task has written anything
                        dir.force();
                        throw e;
                    }
                    ByteBuffer buffer = ByteBuffer.wrap(content);
                    while (buffer.hasRemaining()) {
                        lock.write(buffer);
                    }
                    lock.force(true);
                } catch (FileAlreadyExistsException raced) {
                    continue;
                }
                dir.force();
            } else if (ended.test(holder)) {
                check.run();
                dir.writeAtomically(NAME, out -> out.write(content));
            } else {
                throw held(dir, holder);
            }
        }
        String holder = holder(dir);
        if (!job.equals(holder)) {
            throw held(dir, holder);
        }
    }

    /** The job holding the lock of {@code dir}, or null. */
    public static String holder(DestDir dir) throws IOException {
        byte[] bytes = dir.readSmall(NAME, MAX_BYTES);
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8).trim();
    }

    /** Releases the lock of {@code dir} if {@code job} holds it. */
    public static void release(DestDir dir, String job) throws IOException {
        if (job.equals(holder(dir))) {
            dir.delete(NAME);
            dir.force();
        }
    }

    private static DestinationHeldException held(DestDir dir, String holder) {
        return new DestinationHeldException("destination " + dir.path() + " is held by running job " + holder);
    }

    /** A check that must pass before a job takes a destination (it may read the destination). */
    @FunctionalInterface
    public interface Check {
        void run() throws IOException;
    }

    /** Another running job holds the destination: permanent for this job. */
    public static final class DestinationHeldException extends IOException {
        public DestinationHeldException(String message) {
            super(message);
        }
    }
}
