package io.chainsync.jobs;

import io.chainsync.copier.LayerCheck;
import io.chainsync.copier.LayerManifest;
import io.chainsync.core.DecisionTable;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code chainsync verify}: compares every rebuilt layer with its source, without qemu at the
 * destination (docs/design.md §4, "Verification"). Per layer:
 * <ol>
 *   <li>the header: format by name, virtual size equal to the source's export size, backing file
 *       name and format as the chain (or {@code --backing}) says;</li>
 *   <li>the owned ranges: the source's decisions (depth or bitmap joined with
 *       {@code base:allocation}, §1) against the destination's own L2 map read by
 *       {@code Qcow2Reader} — skipped where the mode knows nothing of ownership (a bottom layer
 *       without depth, FLATTEN) and for raw layers, which own everything;</li>
 *   <li>the content of the layer read alone: on the source, DATA ranges read over NBD and every
 *       other range zero; on the destination, data clusters read from the file and every other
 *       cluster zero. Both are digested as a {@code BlockDigest} tree, pipelined over the source's
 *       NBD connections, and a span that holds no data on a side is not read.</li>
 * </ol>
 * The first difference ends the layer's check and is reported with its offset. The check of one
 * layer is {@link LayerCheck}'s (module copier), which the copier runs too when a pipeline job asks
 * for verification.
 */
public final class LayerVerifier {

    private final Path destination;
    private final CopyOptions options;
    private final LayerCheck check;

    /**
     * @param destination the directory holding the rebuilt layers
     * @param options the job's options: dirty bitmap, backing layer, flatten, NBD connections
     */
    public LayerVerifier(Path destination, CopyOptions options) {
        this.destination = destination;
        this.options = options;
        this.check = new LayerCheck(destination, options.connections());
    }

    /**
     * The verdict on one layer.
     *
     * @param firstDifference the first offset where the layer differs, or -1 (also when the
     *                        difference has no offset, as a wrong backing file name)
     * @param reason what differs, null when verified
     * @param ownedRanges the number of ranges the destination layer owns (-1 when not compared)
     * @param ownedDigest their digest ({@code OwnedRanges.digest()}), or null
     * @param contentDigest the {@code BlockDigest} root of the layer read alone, or null
     */
    public record Outcome(String layer, boolean verified, long firstDifference, String reason, int ownedRanges,
                          String ownedDigest, String contentDigest) {

        static Outcome differs(String layer, long offset, String reason) {
            return new Outcome(layer, false, offset, reason, -1, null, null);
        }

        static Outcome of(LayerCheck.Verdict v) {
            return new Outcome(v.layer(), v.verified(), v.firstDifference(), v.reason(), v.ownedRanges(),
                    v.ownedDigest(), v.contentDigest());
        }

        /** One line for people: {@code VERIFIED name ...} or {@code DIFFERS name at offset N: reason}. */
        public String line() {
            if (verified) {
                return "VERIFIED " + layer + " owned-ranges=" + (ownedRanges < 0 ? "-" : ownedRanges)
                        + " content=sha256:" + contentDigest;
            }
            return "DIFFERS " + layer + (firstDifference >= 0 ? " at offset " + firstDifference : "") + ": " + reason;
        }
    }

    /**
     * Verifies every layer, bottom first; every layer is checked even after one differs, and a
     * layer that cannot be checked (its source unreachable, its file unreadable) does not verify.
     */
    public List<Outcome> verify(List<LayerSpec> layers) {
        JobSpec.validateChain(layers);
        JobSpec.validateBase(layers, options.backing(), options.flatten(), options.dirtyBitmap());
        List<Outcome> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            String backing = i == 0 ? options.backing() : layers.get(i - 1).name();
            try {
                out.add(verifyLayer(layers.get(i), backing, i == 0 && backing == null));
            } catch (IOException | RuntimeException e) {
                out.add(Outcome.differs(layers.get(i).name(), -1, "cannot be verified: "
                        + (e.getMessage() == null ? e.toString() : e.getMessage())));
            }
        }
        return out;
    }

    private Outcome verifyLayer(LayerSpec layer, String backing, boolean bottom) throws IOException {
        return Outcome.of(check.verify(layer.name(), layer.source(), backing, options.dirtyBitmap(),
                offered -> DecisionTable.selectMode(bottom, offered, options.dirtyBitmap(), options.flatten())));
    }

    /**
     * Checks every layer of the destination that has a manifest against it, with the sources gone:
     * header (size, cluster size, backing), the owned ranges' count and digest, and the content
     * digest, all recomputed from the destination alone.
     *
     * @return one outcome per manifest, in name order; none when the directory holds no manifest
     */
    public List<Outcome> verifyManifests() throws IOException {
        List<String> names = new ArrayList<>();
        try (var entries = Files.list(destination)) {
            entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(LayerManifest.SUFFIX) && !n.startsWith("."))
                    .sorted().forEach(names::add);
        }
        List<Outcome> out = new ArrayList<>();
        for (String manifestName : names) {
            LayerManifest manifest = LayerManifest.read(destination.resolve(manifestName));
            out.add(Outcome.of(check.checkManifest(manifest)));
        }
        return out;
    }
}
