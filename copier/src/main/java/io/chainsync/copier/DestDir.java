package io.chainsync.copier;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One directory under a copier's destination root, held open (docs/design.md §3, "Confinement").
 * Every operation is relative to the open directory ({@code openat}, {@code renameat},
 * {@code unlinkat} through a {@link SecureDirectoryStream}), takes a single name component, and
 * never follows a symbolic link: a link where a file or directory is expected is refused with a
 * {@link ConfinementException}. Files are created exclusively ({@code O_CREAT|O_EXCL}) with the
 * {@link FileModes} file mode, directories with the directory mode.
 *
 * <p>A job's destination is opened by {@link Destinations#open}, one component at a time from the
 * root. {@link #of} opens a directory the operator named (the root itself, or the destination of
 * the one-process {@code copy} command), following the links in its path once.
 */
public final class DestDir implements Closeable {

    private static final Set<OpenOption> READ = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    private static final Set<OpenOption> READ_WRITE = Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS);
    private static final Set<OpenOption> CREATE_NEW = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    private static final String TEMPORARY_SUFFIX = ".tmp";

    private final SecureDirectoryStream<Path> dir;
    private final Path path;
    private final FileModes modes;

    private DestDir(SecureDirectoryStream<Path> dir, Path path, FileModes modes) {
        this.dir = dir;
        this.path = path;
        this.modes = modes;
    }

    /**
     * Opens the directory {@code dir} as the operator named it: the links in its path are followed
     * once, to its real path; nothing inside it is ever followed.
     */
    public static DestDir of(Path dir, FileModes modes) throws IOException {
        Objects.requireNonNull(modes, "modes");
        Path real = dir.toRealPath();
        DirectoryStream<Path> stream = Files.newDirectoryStream(real);
        if (!(stream instanceof SecureDirectoryStream<Path> secure)) {
            stream.close();
            throw new IOException("this platform cannot open files relative to a directory (openat), which "
                    + "confining the destination needs");
        }
        DestDir opened = new DestDir(secure, real, modes);
        try {
            if (!Objects.equals(opened.fileKey(), Files.readAttributes(real, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey())) {
                throw new ConfinementException(real + " changed while it was opened");
            }
        } catch (IOException | RuntimeException e) {
            opened.close();
            throw e;
        }
        return opened;
    }

    /**
     * Opens {@code relative} under the real root {@code root}, one component at a time, creating
     * missing components when {@code create}: each must be a directory and not a symbolic link, is
     * opened relative to its parent without following links, and its real path must be the root's
     * real path followed by the components walked.
     */
    static DestDir walk(Path root, Path relative, String dest, FileModes modes, boolean create) throws IOException {
        DestDir current = of(root, modes);
        try {
            Path walked = null;
            for (Path component : relative) {
                String name = component.toString();
                if (name.isEmpty()) {
                    continue; // the root itself
                }
                walked = walked == null ? component : walked.resolve(component);
                String what = "destination " + dest + ": component " + walked;
                DestDir next = current.directory(name, create, what);
                current.close();
                current = next;
                if (!current.leadsHere()) {
                    throw new ConfinementException(what + " changed while it was opened");
                }
            }
            return current;
        } catch (IOException | RuntimeException e) {
            current.close();
            throw e;
        }
    }

    /**
     * The directory's real path when it was opened: for messages. Operations go through the open
     * directory, never through this path, except creating a directory and counting a file's hard
     * links, which check first that it still leads here.
     */
    public Path path() {
        return path;
    }

    public FileModes modes() {
        return modes;
    }

    /** The path of {@code name} in this directory. */
    public Path resolve(String name) {
        return path.resolve(name(name));
    }

    /** Whether {@code name} exists here; a symbolic link exists (it is not followed). */
    public boolean exists(String name) throws IOException {
        return attributes(name) != null;
    }

    /** Whether {@code name} is a symbolic link. */
    public boolean isSymbolicLink(String name) throws IOException {
        BasicFileAttributes attributes = attributes(name);
        return attributes != null && attributes.isSymbolicLink();
    }

    /** The attributes of {@code name} itself (not of what a link points to), or null when absent. */
    BasicFileAttributes attributes(String name) throws IOException {
        try {
            return dir.getFileAttributeView(name(name), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .readAttributes();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Opens the directory {@code name} here, creating it with the directory mode when it is missing
     * and {@code create}.
     *
     * @param what the directory, for messages
     * @throws NoSuchFileException when it is missing and not to be created
     * @throws ConfinementException when it is a symbolic link or not a directory, or changed while it
     *                              was opened
     */
    DestDir directory(String name, boolean create, String what) throws IOException {
        Path component = name(name);
        BasicFileAttributes attributes = attributes(name);
        boolean created = false;
        if (attributes == null && create) {
            created = createDirectory(component, what);
            attributes = attributes(name);
        }
        if (attributes == null) {
            throw new NoSuchFileException(path.resolve(component).toString(), null, what + " does not exist");
        }
        if (attributes.isSymbolicLink()) {
            throw new ConfinementException(what + " is a symbolic link");
        }
        if (!attributes.isDirectory()) {
            throw new ConfinementException(what + " is not a directory");
        }
        SecureDirectoryStream<Path> child;
        try {
            child = dir.newDirectoryStream(component, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            if (isSymbolicLink(name)) {
                throw new ConfinementException(what + " is a symbolic link");
            }
            throw e;
        }
        DestDir opened = new DestDir(child, path.resolve(component), modes);
        try {
            if (!Objects.equals(opened.fileKey(), attributes.fileKey())) {
                throw new ConfinementException(what + " changed while it was opened");
            }
            if (created) {
                setMode(child.getFileAttributeView(PosixFileAttributeView.class), modes.directories());
            }
        } catch (IOException | RuntimeException e) {
            opened.close();
            throw e;
        }
        return opened;
    }

    /**
     * Creates the directory {@code component} here, with the directory mode. Java has no
     * {@code mkdirat}: the directory is created by path, so the path is checked to lead to this
     * directory first, and the new directory to be visible through it afterwards; one created
     * elsewhere (a component above was replaced in between) is removed again and refused.
     *
     * @return false when it existed already (created meanwhile by another task)
     */
    private boolean createDirectory(Path component, String what) throws IOException {
        Path created = path.resolve(component);
        if (!leadsHere()) {
            throw new ConfinementException(what + " cannot be created: " + path
                    + " no longer leads to the directory being written (a component was replaced)");
        }
        try {
            Files.createDirectory(created, modes.directoryAttribute());
        } catch (FileAlreadyExistsException raced) {
            return false;
        }
        if (attributes(component.toString()) == null) {
            try {
                if (Files.readAttributes(created, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isDirectory()) {
                    Files.delete(created); // only ever an empty directory
                }
            } catch (IOException ignored) {
                // gone, or no longer empty: not ours to remove
            }
            throw new ConfinementException(what + " changed while it was created (a component was replaced)");
        }
        return true;
    }

    /** Whether this directory's path, resolved now, is still this directory. */
    private boolean leadsHere() throws IOException {
        try {
            Path real = path.toRealPath();
            return real.equals(path) && Objects.equals(fileKey(),
                    Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey());
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /**
     * Creates {@code name} exclusively, with the file mode, for reading and writing.
     *
     * @throws FileAlreadyExistsException when anything (a link included) already has the name
     */
    FileChannel createNew(String name) throws IOException {
        FileChannel channel = fileChannel(dir.newByteChannel(name(name), CREATE_NEW, modes.fileAttribute()));
        try {
            setMode(dir.getFileAttributeView(name(name), PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS),
                    modes.files());
        } catch (IOException | RuntimeException e) {
            channel.close();
            deleteQuietly(name);
            throw e;
        }
        return channel;
    }

    /**
     * Opens the existing regular file {@code name}, for reading and, when {@code write}, writing.
     * It is checked to be a regular file before the open (a FIFO opened for reading would block)
     * and to be the same file after.
     *
     * @throws NoSuchFileException when it does not exist
     * @throws ConfinementException when it is a symbolic link, not a regular file, a file with other
     *                              hard links (when writing), or changed while it was opened
     */
    FileChannel open(String name, boolean write) throws IOException {
        BasicFileAttributes before = regularFile(name);
        FileChannel channel;
        try {
            channel = fileChannel(dir.newByteChannel(name(name), write ? READ_WRITE : READ));
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            if (isSymbolicLink(name)) {
                throw symbolicLink(name);
            }
            throw e;
        }
        try {
            if (!Objects.equals(before.fileKey(), regularFile(name).fileKey())) {
                throw new ConfinementException(resolve(name) + " changed while it was opened");
            }
            if (write) {
                refuseHardLinks(name, before.fileKey());
            }
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return channel;
    }

    /**
     * Refuses to write to a file with other hard links: it may be a file outside the root linked
     * in. The link count is not visible through a directory stream, so it is read by path, which
     * must still lead to the same file.
     */
    private void refuseHardLinks(String name, Object fileKey) throws IOException {
        Map<String, Object> attributes;
        try {
            attributes = Files.readAttributes(resolve(name), "unix:fileKey,nlink", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            attributes = Map.of();
        }
        if (!Objects.equals(fileKey, attributes.get("fileKey"))) {
            throw new ConfinementException(resolve(name) + " cannot be checked: " + path
                    + " no longer leads to the directory being written (a component was replaced)");
        }
        if (((Number) attributes.get("nlink")).intValue() > 1) {
            throw new ConfinementException(resolve(name) + " has other hard links; it is not written through");
        }
    }

    /**
     * Creates {@code name} exclusively or, when it exists (a file shared by several tasks), opens it
     * for writing as {@link #open} does.
     */
    FileChannel createOrOpen(String name) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return createNew(name);
            } catch (FileAlreadyExistsException exists) {
                try {
                    return open(name, true);
                } catch (NoSuchFileException removed) {
                    if (attempt == 3) {
                        throw removed; // removed again and again as it was opened
                    }
                }
            }
        }
    }

    /** Reads the regular file {@code name}, or returns null when it does not exist. */
    InputStream read(String name) throws IOException {
        try {
            return Channels.newInputStream(open(name, false));
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Reads the regular file {@code name} whole, or returns null when it does not exist.
     *
     * @throws ConfinementException when it is larger than {@code limit} bytes
     */
    byte[] readSmall(String name, int limit) throws IOException {
        InputStream in = read(name);
        if (in == null) {
            return null;
        }
        try (in) {
            byte[] bytes = in.readNBytes(limit + 1);
            if (bytes.length > limit) {
                throw new ConfinementException(resolve(name) + " is larger than " + limit + " bytes");
            }
            return bytes;
        }
    }

    /**
     * Writes {@code name} atomically: a new temporary file (a name no other writer uses), flushed,
     * renamed over {@code name} within this directory, then this directory flushed.
     */
    void writeAtomically(String name, Content content) throws IOException {
        String temporary = (name.startsWith(".") ? "" : ".") + name + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + TEMPORARY_SUFFIX;
        try (FileChannel channel = createNew(temporary)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel));
            content.write(out);
            out.flush();
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(temporary);
            throw e;
        }
        rename(temporary, name);
        force();
    }

    /** Whether {@code entry} is a temporary file {@link #writeAtomically} left for {@code name}. */
    static boolean isTemporaryOf(String entry, String name) {
        String prefix = (name.startsWith(".") ? "" : ".") + name + ".";
        return entry.startsWith(prefix) && entry.endsWith(TEMPORARY_SUFFIX)
                && entry.length() > prefix.length() + TEMPORARY_SUFFIX.length();
    }

    /** Renames {@code from} to {@code to} within this directory, replacing what {@code to} names. */
    void rename(String from, String to) throws IOException {
        dir.move(name(from), dir, name(to));
    }

    /** Removes the file (or link: it is not followed) {@code name}; false when there was none. */
    boolean delete(String name) throws IOException {
        try {
            dir.deleteFile(name(name));
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    void deleteQuietly(String name) {
        try {
            delete(name);
        } catch (IOException | RuntimeException ignored) {
            // best effort
        }
    }

    /** Removes the directory {@code name} and everything in it; a link there is removed, not followed. */
    void deleteTree(String name) throws IOException {
        BasicFileAttributes attributes = attributes(name);
        if (attributes == null) {
            return;
        }
        if (attributes.isSymbolicLink() || !attributes.isDirectory()) {
            delete(name);
            return;
        }
        try (DestDir sub = directory(name, false, resolve(name).toString())) {
            for (String entry : sub.list()) {
                sub.deleteTree(entry);
            }
        } catch (NoSuchFileException gone) {
            return;
        }
        try {
            dir.deleteDirectory(name(name));
        } catch (NoSuchFileException gone) {
            // removed meanwhile
        }
    }

    /** The names in this directory. */
    List<String> list() throws IOException {
        List<String> names = new ArrayList<>();
        try (SecureDirectoryStream<Path> again = dir.newDirectoryStream(Path.of("."), LinkOption.NOFOLLOW_LINKS)) {
            for (Path entry : again) {
                names.add(entry.getFileName().toString());
            }
        }
        return names;
    }

    /** Flushes this directory (its entries: creations, renames, removals) to disk. */
    void force() {
        try (SeekableByteChannel channel = dir.newByteChannel(Path.of("."), Set.of(StandardOpenOption.READ))) {
            if (channel instanceof FileChannel file) {
                file.force(true);
            }
        } catch (IOException ignored) {
            // not every file system lets a directory be opened for fsync; what was renamed stands
        }
    }

    @Override
    public void close() throws IOException {
        dir.close();
    }

    @Override
    public String toString() {
        return path.toString();
    }

    /** What {@link #writeAtomically} writes. */
    @FunctionalInterface
    interface Content {
        void write(OutputStream out) throws IOException;
    }

    private Object fileKey() throws IOException {
        return dir.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
    }

    private BasicFileAttributes regularFile(String name) throws IOException {
        BasicFileAttributes attributes = attributes(name);
        if (attributes == null) {
            throw new NoSuchFileException(resolve(name).toString());
        }
        if (attributes.isSymbolicLink()) {
            throw symbolicLink(name);
        }
        if (!attributes.isRegularFile()) {
            throw new ConfinementException(resolve(name) + " is not a regular file");
        }
        return attributes;
    }

    private ConfinementException symbolicLink(String name) {
        return new ConfinementException(resolve(name) + " is a symbolic link; it is never followed");
    }

    /** Sets {@code mode} exactly where it differs (a umask may have narrowed the mode given at creation). */
    private static void setMode(PosixFileAttributeView view, Set<PosixFilePermission> mode) throws IOException {
        if (!view.readAttributes().permissions().equals(mode)) {
            view.setPermissions(mode);
        }
    }

    private static FileChannel fileChannel(SeekableByteChannel channel) throws IOException {
        if (channel instanceof FileChannel file) {
            return file;
        }
        channel.close();
        throw new IOException("not a file channel: " + channel.getClass().getName());
    }

    /** A single, plain name component: no separator, not {@code .} or {@code ..}. */
    private static Path name(String name) {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a plain file name: '" + name + "'");
        }
        return Path.of(name);
    }
}
