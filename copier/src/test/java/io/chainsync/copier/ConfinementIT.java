package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.chainsync.core.ClusterRun;
import io.chainsync.testkit.ChainJudge;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile destinations (docs/design.md §3, "Confinement"): symbolic links planted where a
 * destination directory, a layer or a temporary file would be are refused, never followed, and
 * nothing outside the destination root changes; what the copier creates gets its file modes.
 *
 * <p>The tasks run as a copier runs them: {@link Destinations#open} under the root, then
 * {@link ChunkTasks#copyChunk} and {@link ChunkTasks#finalizeLayer} from a real qemu-nbd source
 * (the seed top layer, {@link SeedTop}).
 */
@Timeout(120)
class ConfinementIT {

    private static final String LAYER = SeedTop.NAME;
    private static final List<ClusterRun> CHUNK0 = SeedTop.CHUNK0;
    private static final List<ClusterRun> CHUNK1 = SeedTop.CHUNK1;
    private static final FileTime LONG_AGO = FileTime.fromMillis(1_000_000_000_000L);

    @TempDir
    static Path shared;
    private static SeedTop seed;

    @TempDir
    Path work;
    private Path root;
    private Path outside;
    private Path victim;

    @BeforeAll
    static void serve() {
        seed = new SeedTop(shared);
    }

    @AfterAll
    static void stop() {
        seed.close();
    }

    /** A destination root, and beside it a directory with a file that must never change. */
    @BeforeEach
    void dirs() throws IOException {
        root = Files.createDirectories(work.resolve("root"));
        outside = Files.createDirectories(work.resolve("outside"));
        victim = Files.writeString(outside.resolve("victim"), "precious, not a disk image\n");
        Files.setLastModifiedTime(victim, LONG_AGO);
        Files.setLastModifiedTime(outside, LONG_AGO);
    }

    private static ChunkTasks.Layer layer(Path root, String dest, String job) {
        return seed.layer(job, Destinations.resolve(root, dest, LAYER));
    }

    private static long copy(DestDir dir, ChunkTasks.Layer layer, long chunk, List<ClusterRun> runs)
            throws IOException {
        return seed.copy(dir, layer, chunk, runs);
    }

    /** What a copier does for one COPY task: open the destination under the root, lock it, copy. */
    private long copyTask(String dest, String job, long chunk, List<ClusterRun> runs) throws IOException {
        try (DestDir dir = Destinations.open(root, dest, FileModes.DEFAULT)) {
            DestLock.acquire(dir, job, j -> false);
            return copy(dir, layer(root, dest, job), chunk, runs);
        }
    }

    /**
     * A COPY task into {@code dest} is refused with a message naming every one of {@code parts},
     * and nothing outside the root changes.
     */
    private ConfinementException assertCopyRefused(String dest, String job, String... parts) throws IOException {
        Map<String, String> before = snapshot(outside);
        ConfinementException e = assertThrows(ConfinementException.class, () -> copyTask(dest, job, 0, CHUNK0));
        assertMentions(e, parts);
        assertEquals(before, snapshot(outside));
        return e;
    }

    /** Every entry under {@code dir}, links not followed: type, size, mtime, mode and a digest of the content. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> entries = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String content = a.isRegularFile() ? digest(Files.readAllBytes(p))
                        : a.isSymbolicLink() ? Files.readSymbolicLink(p).toString() : "";
                entries.put(dir.relativize(p).toString(), (a.isDirectory() ? "d " : a.isSymbolicLink() ? "l " : "f ")
                        + a.size() + " " + a.lastModifiedTime().toMillis() + " "
                        + PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS))
                        + " " + content);
            }
        }
        return entries;
    }

    private static String digest(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
        }
    }

    private String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    // (a)
    @Test
    void aDestinationThatIsASymbolicLinkOutOfTheRootIsRefused() throws IOException {
        Files.createSymbolicLink(root.resolve("evil"), outside);
        Map<String, String> before = snapshot(outside);

        // by its text the destination lies inside the root: only the file system tells
        assertEquals(root.resolve("evil").resolve(LAYER).toAbsolutePath(), Destinations.resolve(root, "evil", LAYER));
        assertCopyRefused("evil", "job-a", "destination evil: component evil is a symbolic link");
        assertCopyRefused("evil/vm1", "job-a", "destination evil/vm1: component evil is a symbolic link");
        assertThrows(ConfinementException.class,
                () -> Destinations.openExisting(root, "evil", FileModes.DEFAULT).close());

        assertEquals(before, snapshot(outside));
        assertFalse(Files.exists(outside.resolve("vm1")));
        assertFalse(Files.exists(outside.resolve(DestLock.NAME)));
    }

    // (b)
    @Test
    void aPlantedTemporaryFileLinkIsRefusedAndItsTargetUnchanged() throws IOException {
        Path vm1 = Files.createDirectories(root.resolve("vm1"));
        Files.createSymbolicLink(vm1.resolve(".top.qcow2.partial"), victim);
        Map<String, String> before = snapshot(outside);

        assertCopyRefused("vm1", "job-b", ".top.qcow2.partial is a symbolic link");

        // a finalize whose chunks are all recorded refuses it too (planted runs, as a racing worker would leave)
        Path chunks = Files.createDirectories(vm1.resolve(".top.qcow2.partial.chunks"));
        ChunkTasks.writeRuns(chunks.resolve(ChunkTasks.chunkFileName(0)), CHUNK0);
        ChunkTasks.writeRuns(chunks.resolve(ChunkTasks.chunkFileName(1)), CHUNK1);
        try (DestDir dir = Destinations.open(root, "vm1", FileModes.DEFAULT)) {
            ConfinementException e = assertThrows(ConfinementException.class,
                    () -> ChunkTasks.finalizeLayer(dir, layer(root, "vm1", "job-b"), 2));
            assertMentions(e, ".top.qcow2.partial is a symbolic link");
        }

        assertEquals(before, snapshot(outside));
        assertEquals(LONG_AGO, Files.getLastModifiedTime(victim));
        assertFalse(Files.exists(vm1.resolve(LAYER), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aPlantedTemporaryFileHardLinkIsNotWrittenThrough() throws IOException {
        Path vm1 = Files.createDirectories(root.resolve("vm1"));
        Files.createLink(vm1.resolve(".top.qcow2.partial"), victim);

        assertCopyRefused("vm1", "job-h", ".top.qcow2.partial has other hard links");
    }

    // (c)
    @Test
    void aLayerNameThatIsASymbolicLinkIsRefused() throws IOException {
        Path vm1 = Files.createDirectories(root.resolve("vm1"));
        Files.createSymbolicLink(vm1.resolve(LAYER), victim);
        Files.createSymbolicLink(vm1.resolve("dangling.qcow2"), outside.resolve("created-through-a-link"));
        Map<String, String> before = snapshot(outside);

        assertCopyRefused("vm1", "job-c", "layer top.qcow2 in", "is a symbolic link");
        try (DestDir dir = Destinations.open(root, "vm1", FileModes.DEFAULT)) {
            ConfinementException e = assertThrows(ConfinementException.class,
                    () -> ChunkTasks.finalizeLayer(dir, layer(root, "vm1", "job-c"), 2));
            assertMentions(e, "layer top.qcow2 in", "is a symbolic link");
            ChunkTasks.Layer dangling = seed.layer("job-c", Destinations.resolve(root, "vm1", "dangling.qcow2"));
            e = assertThrows(ConfinementException.class, () -> copy(dir, dangling, 0, CHUNK0));
            assertMentions(e, "layer dangling.qcow2 in", "is a symbolic link");
        }

        assertEquals(before, snapshot(outside));
        assertFalse(Files.exists(outside.resolve("created-through-a-link"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(vm1.resolve(".top.qcow2.partial"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aPlantedManifestLinkIsRefused() throws IOException {
        // a manifest naming the job would make the tasks take the layer for finished: read it only if it is ours
        Path vm1 = Files.createDirectories(root.resolve("vm1"));
        Path forged = Files.writeString(outside.resolve("forged.json"), "{\"format\":\"" + LayerManifest.FORMAT
                + "\",\"layer\":\"top.qcow2\",\"job\":\"job-m\"}");
        Files.createSymbolicLink(vm1.resolve(LAYER + ".manifest.json"), forged);

        assertCopyRefused("vm1", "job-m", "top.qcow2.manifest.json is a symbolic link");
    }

    // (d)
    @Test
    void anIntermediateComponentReplacedByASymbolicLinkIsRefused() throws IOException {
        assertEquals(64 << 10, copyTask("a/b/c", "job-d", 0, CHUNK0));
        Files.move(root.resolve("a/b"), root.resolve("a/b.moved"));
        Files.createSymbolicLink(root.resolve("a/b"), outside);
        Map<String, String> before = snapshot(outside);

        assertCopyRefused("a/b/c", "job-d", "destination a/b/c: component a/b is a symbolic link");
        ConfinementException e = assertThrows(ConfinementException.class,
                () -> Destinations.openExisting(root, "a/b/c", FileModes.DEFAULT).close());
        assertMentions(e, "component a/b is a symbolic link");

        assertEquals(before, snapshot(outside));
        assertFalse(Files.exists(outside.resolve("c")));
    }

    @Test
    void aComponentReplacedWhileTheDestinationIsOpenChangesNothingOutside() throws IOException {
        // the race a check by path leaves open: the tasks hold the directory they opened, and what
        // they write goes there, wherever its path leads by now
        ChunkTasks.Layer layer = layer(root, "a/b", "job-r");
        try (DestDir dir = Destinations.open(root, "a/b", FileModes.DEFAULT)) {
            copy(dir, layer, 0, CHUNK0);
            Map<String, String> before = replaceComponentA();

            // a new file is created in the open directory
            ChunkTasks.writeRuns(dir, ChunkTasks.chunkFileName(1) + ".copy", CHUNK1);
            assertTrue(Files.isRegularFile(root.resolve("a.moved/b/" + ChunkTasks.chunkFileName(1) + ".copy")));
            // the steps that need the path as well refuse: counting the hard links of a file before
            // writing to it (here), creating a directory (next test)
            ConfinementException e = assertThrows(ConfinementException.class, () -> copy(dir, layer, 1, CHUNK1));
            assertMentions(e, ".top.qcow2.partial cannot be checked", "a component was replaced");
            e = assertThrows(ConfinementException.class, () -> ChunkTasks.finalizeLayer(dir, layer, 1));
            assertMentions(e, ".top.qcow2.partial cannot be checked");

            assertEquals(before, snapshot(outside));
        }
        assertFalse(Files.exists(root.resolve("a.moved/b/" + LAYER)));
    }

    @Test
    void aDirectoryIsNotCreatedThroughAComponentReplacedWhileTheDestinationIsOpen() throws IOException {
        // creating the chunk directory is the one creation by path (no mkdirat in Java): it is
        // refused once the path no longer leads to the open directory
        ChunkTasks.Layer layer = layer(root, "a/b", "job-s");
        try (DestDir dir = Destinations.open(root, "a/b", FileModes.DEFAULT)) {
            Map<String, String> before = replaceComponentA();

            ConfinementException e = assertThrows(ConfinementException.class, () -> copy(dir, layer, 0, CHUNK0));
            assertMentions(e, ".top.qcow2.partial.chunks", "cannot be created", "a component was replaced");

            assertEquals(before, snapshot(outside));
        }
        assertEquals(List.of(), list(root.resolve("a.moved/b")));
    }

    /** Moves {@code root/a} away and puts a link to the outside directory, which has a {@code b}, in its place. */
    private Map<String, String> replaceComponentA() throws IOException {
        Files.move(root.resolve("a"), root.resolve("a.moved"));
        Files.createSymbolicLink(root.resolve("a"), outside);
        Files.setLastModifiedTime(Files.createDirectories(outside.resolve("b")), LONG_AGO);
        Files.setLastModifiedTime(outside, LONG_AGO);
        return snapshot(outside);
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aComponentThatIsNotADirectoryIsRefused() throws IOException {
        Files.writeString(root.resolve("file"), "x");
        assertCopyRefused("file/vm1", "job-f", "destination file/vm1: component file is not a directory");
    }

    // (e)
    @Test
    void aFinishedLayerAndItsManifestAreNotReadableByOthers() throws IOException {
        String dest = "vm1/x";
        copyTask(dest, "job-e", 0, CHUNK0);
        copyTask(dest, "job-e", 1, CHUNK1);
        Path dir = root.resolve(dest);
        assertEquals("rw-r-----", mode(dir.resolve(".top.qcow2.partial")));
        try (DestDir opened = Destinations.open(root, dest, FileModes.DEFAULT)) {
            ChunkTasks.finalizeLayer(opened, layer(root, dest, "job-e"), 2);
        }

        assertEquals("rw-r-----", mode(dir.resolve(LAYER)));
        assertEquals("rw-r-----", mode(dir.resolve(LAYER + ".manifest.json")));
        assertEquals("rw-r-----", mode(dir.resolve(DestLock.NAME)));
        assertEquals("rwxr-x---", mode(root.resolve("vm1")));
        assertEquals("rwxr-x---", mode(dir));
        Files.copy(seed.source.bottom().path(), dir.resolve(seed.source.bottom().name()),
                StandardCopyOption.REPLACE_EXISTING);
        ChainJudge.judge(seed.source, dir).assertExact();
        assertEquals(List.of(DestLock.NAME, "base.qcow2", LAYER, LAYER + ".manifest.json"), list(dir));
    }

    @Test
    void modesAreConfigurable() throws IOException {
        FileModes owner = FileModes.of("rw-------", "rwx------");
        try (DestDir dir = Destinations.open(root, "private/vm", owner)) {
            ChunkTasks.Layer layer = layer(root, "private/vm", "job-p");
            copy(dir, layer, 0, CHUNK0);
            copy(dir, layer, 1, CHUNK1);
            ChunkTasks.finalizeLayer(dir, layer, 2);
        }
        assertEquals("rw-------", mode(root.resolve("private/vm").resolve(LAYER)));
        assertEquals("rw-------", mode(root.resolve("private/vm").resolve(LAYER + ".manifest.json")));
        assertEquals("rwx------", mode(root.resolve("private")));
        assertThrows(IllegalArgumentException.class, () -> FileModes.of("r--r-----", "rwxr-x---"));
    }

    @Test
    void theOneProcessSinkCreatesItsFileAfreshAndNeverThroughALink() throws IOException {
        Path dest = Files.createDirectories(work.resolve("copy-dest"));
        Files.createSymbolicLink(dest.resolve(".base.raw.partial"), victim);
        Map<String, String> before = snapshot(outside);
        try (LayerSink sink = LayerSink.open(dest.resolve("base.raw"), 1 << 20, SeedTop.BITS, null)) {
            sink.write(65536, ByteBuffer.wrap("data".getBytes(StandardCharsets.US_ASCII)));
            sink.map(List.of());
            sink.commit();
        }
        assertEquals(before, snapshot(outside));
        assertEquals("rw-r-----", mode(dest.resolve("base.raw")));
        assertEquals(1 << 20, Files.size(dest.resolve("base.raw")));
        assertFalse(Files.exists(dest.resolve(".base.raw.partial"), LinkOption.NOFOLLOW_LINKS));
    }
}
