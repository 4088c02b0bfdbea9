package io.chainsync.copier;

import io.chainsync.qcow2.Qcow2FormatException;
import io.chainsync.qcow2.Qcow2Reader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * What a job may do with the files its layer names already take in its destination
 * (docs/design.md §3, "Confinement"): a layer is never overwritten silently. Without replace, a
 * name taken by a file the job did not write refuses the job. With replace, the file is replaced
 * (atomically, by renaming the finished layer over it) unless another qcow2 image in the
 * destination, not one of the job's layers, names it as its backing file: that chain would be
 * corrupted, so such a file is never replaced; a job replaces it only together with every layer
 * above it. Backing names are read from the images' headers ({@link Qcow2Reader#backingFileOf});
 * no link is followed, and a link is never taken for a layer.
 */
public final class ExistingLayers {

    private ExistingLayers() {
    }

    /**
     * Checks every layer of a job against its destination, before anything of the job is written.
     *
     * @param job the job, whose own finished layers (their manifest names it) are not in the way; null
     *            for the one-process {@code copy}, which writes no manifest
     * @param layers the names of every layer of the job
     * @param replace whether the job replaces existing layers
     * @throws LayerExistsException naming the first layer that is in the way, and why
     * @throws ConfinementException when a layer name is a symbolic link
     */
    public static void check(DestDir dir, String job, List<String> layers, boolean replace) throws IOException {
        for (String layer : layers) {
            checkLayer(dir, job, layer, layers, replace);
        }
    }

    /**
     * Checks {@code layer} of a copy that writes {@code layers} (see {@link #check}), in the
     * destination directory {@code dir} taken as named: before anything is copied, and again just
     * before the layer is put in place.
     *
     * @throws NoSuchFileException when {@code dir} does not exist (nothing is in the way)
     */
    public static void checkLayer(Path dir, String layer, List<String> layers, boolean replace) throws IOException {
        try (DestDir opened = DestDir.of(dir, FileModes.DEFAULT)) {
            checkLayer(opened, null, layer, layers, replace);
        }
    }

    /**
     * Checks one layer of a job: see {@link #check}.
     *
     * @param jobLayers every layer of the job: these may name the layer as their backing file
     */
    static void checkLayer(DestDir dir, String job, String layer, Collection<String> jobLayers, boolean replace)
            throws IOException {
        BasicFileAttributes existing = dir.attributes(layer);
        if (existing == null) {
            return;
        }
        if (existing.isSymbolicLink()) {
            throw new ConfinementException("layer " + layer + " in " + dir + " is a symbolic link; it is never"
                    + " followed or overwritten");
        }
        if (job != null) {
            LayerManifest manifest = LayerManifest.read(dir, new LayerFiles(dir, layer).manifest());
            if (manifest != null && job.equals(manifest.job())) {
                return; // this job's own layer (a task delivered again)
            }
        }
        if (!replace) {
            throw new LayerExistsException(layer, "already exists in " + dir
                    + "; it is never overwritten (use --replace to replace it)");
        }
        List<String> users = backingUsers(dir, layer, jobLayers);
        if (!users.isEmpty()) {
            throw new LayerExistsException(layer, "the existing file is the backing file of "
                    + String.join(", ", users) + " in " + dir + ", which this job does not replace; it is never"
                    + " replaced, even with --replace");
        }
    }

    /**
     * The regular files in {@code dir}, other than the job's layers and their temporary files,
     * whose qcow2 header names {@code layer} as backing file. Links, directories and other special
     * files are skipped, never followed; files without the qcow2 magic are not images (manifests,
     * layers whose header is not written yet).
     *
     * @throws LayerExistsException when a file has the qcow2 magic but a header that cannot be read:
     *                              whether it uses the layer cannot be told
     */
    static List<String> backingUsers(DestDir dir, String layer, Collection<String> jobLayers) throws IOException {
        Set<String> own = Set.copyOf(jobLayers);
        List<String> users = new ArrayList<>();
        for (String entry : dir.list()) {
            if (own.contains(entry) || ownTemporary(entry, own)) {
                continue;
            }
            BasicFileAttributes attributes = dir.attributes(entry);
            if (attributes == null || !attributes.isRegularFile()) {
                continue;
            }
            String backing;
            try (FileChannel channel = dir.open(entry, false)) {
                if (!Qcow2Reader.hasMagic(channel)) {
                    continue;
                }
                backing = Qcow2Reader.backingFileOf(channel);
            } catch (NoSuchFileException gone) {
                continue;
            } catch (Qcow2FormatException e) {
                throw new LayerExistsException(layer, "the existing file is not replaced: " + entry + " in " + dir
                        + " is a qcow2 image whose header cannot be read (" + e.getMessage()
                        + "), so whether it uses " + layer + " as its backing file cannot be told");
            }
            if (backing != null && refersTo(dir.path(), backing, layer)) {
                users.add(entry);
            }
        }
        users.sort(null);
        return users;
    }

    private static boolean ownTemporary(String entry, Set<String> own) {
        for (String layer : own) {
            if (entry.equals("." + layer + ".partial")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the backing file name {@code backing}, as an image in {@code dir} records it, is the
     * file {@code layer} in {@code dir}: a relative name resolved against {@code dir}, an absolute
     * one compared as it is, both by their text (links are not followed). A {@code json:} name is
     * taken to refer to the layer when it mentions it at all (it cannot be told otherwise); a
     * protocol URL ({@code nbd://…}) is no file here.
     */
    static boolean refersTo(Path dir, String backing, String layer) {
        String name = backing.startsWith("file:") ? backing.substring("file:".length()) : backing;
        if (name.startsWith("json:")) {
            return name.contains(layer);
        }
        if (name.contains("://")) {
            return false;
        }
        try {
            return dir.resolve(name).normalize().equals(dir.resolve(layer).normalize());
        } catch (InvalidPathException e) {
            return false;
        }
    }
}
