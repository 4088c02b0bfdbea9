package io.chainsync.qcow2;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * Writes a sparse raw image: the file is created empty and extended to the virtual size, allocating
 * at most its last block ({@link #extend}); only DATA is written, at its guest offset. Zero and
 * unallocated ranges are left as holes (they read as zeros), which is exact for a bottom layer.
 *
 * <p>{@link #writeData} is thread-safe (positional writes). Lifecycle as {@link Qcow2Writer}:
 * {@code OPEN -> DATA -> FINISHING -> FINISHED}, or {@code ABORTED}; illegal calls throw
 * {@link IllegalStateException}.
 */
public final class RawWriter implements Closeable {

    private final Path path;
    private final FileChannel channel;
    private final long virtualSize;
    private final AtomicReference<Qcow2Writer.STATE> state = new AtomicReference<>(Qcow2Writer.STATE.OPEN);

    private RawWriter(Path path, FileChannel channel, long virtualSize) {
        this.path = path;
        this.channel = channel;
        this.virtualSize = virtualSize;
    }

    /**
     * Creates (or truncates) {@code path} as a sparse file of {@code virtualSize} bytes (any positive
     * size). A symbolic link at {@code path} is refused, never followed.
     */
    public static RawWriter create(Path path, long virtualSize) throws IOException {
        Objects.requireNonNull(path, "path");
        checkSize(virtualSize);
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        return create(ch, path, virtualSize);
    }

    /**
     * As {@link #create(Path, long)}, in a file the caller has opened for writing (e.g. created
     * exclusively, relative to a directory it holds): truncated, then extended to the virtual size.
     * The writer owns the channel from now on, and closes it also when this method fails.
     *
     * @param path the file's name, for messages and {@link #path()}
     */
    public static RawWriter create(FileChannel channel, Path path, long virtualSize) throws IOException {
        try {
            Objects.requireNonNull(path, "path");
            checkSize(virtualSize);
            channel.truncate(0);
            extend(channel, virtualSize);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new RawWriter(path, channel, virtualSize);
    }

    /**
     * Extends the file of {@code channel} to {@code size} bytes if it is shorter, leaving a hole: a
     * file channel cannot set a length, so one zero byte is written at {@code size - 1} (at most one
     * file system block is allocated; the bytes read as zeroes either way).
     */
    public static void extend(FileChannel channel, long size) throws IOException {
        if (channel.size() < size) {
            Qcow2Writer.writeFully(channel, ByteBuffer.allocate(1), size - 1);
        }
    }

    private static void checkSize(long virtualSize) {
        if (virtualSize <= 0) {
            throw new IllegalArgumentException("virtual size must be positive, got " + virtualSize);
        }
    }

    /** Writes all remaining bytes of {@code src} at {@code guestOffset}. Thread-safe. */
    public void writeData(long guestOffset, ByteBuffer src) throws IOException {
        if (state.get() != Qcow2Writer.STATE.DATA) {
            transition(Qcow2Writer.STATE::data);
        }
        if (guestOffset < 0 || guestOffset > virtualSize - src.remaining()) {
            throw new IllegalArgumentException("write [" + guestOffset + ", +" + src.remaining()
                    + ") outside the virtual size " + virtualSize);
        }
        Qcow2Writer.writeFully(channel, src, guestOffset);
    }

    /** Flushes (fsync) and closes the file. */
    public void finish() throws IOException {
        transition(Qcow2Writer.STATE::finish);
        boolean ok = false;
        try {
            channel.force(true);
            ok = true;
        } finally {
            state.set(ok ? Qcow2Writer.STATE.FINISHED : Qcow2Writer.STATE.ABORTED);
            channel.close();
        }
    }

    /** Closes without flushing; the file is left to the caller. */
    public void abort() throws IOException {
        transition(Qcow2Writer.STATE::abort);
        channel.close();
    }

    /** No-op when finished or aborted, otherwise {@link #abort()}. */
    @Override
    public void close() throws IOException {
        Qcow2Writer.STATE s = state.get();
        if (s == Qcow2Writer.STATE.FINISHED || s == Qcow2Writer.STATE.ABORTED) {
            return;
        }
        abort();
    }

    private void transition(UnaryOperator<Qcow2Writer.STATE> f) {
        while (true) {
            Qcow2Writer.STATE s = state.get();
            Qcow2Writer.STATE n = f.apply(s);
            if (s == n || state.compareAndSet(s, n)) {
                return;
            }
        }
    }

    public FileChannel channel() {
        return channel;
    }

    public Qcow2Writer.STATE state() {
        return state.get();
    }

    public Path path() {
        return path;
    }

    public long virtualSize() {
        return virtualSize;
    }
}
