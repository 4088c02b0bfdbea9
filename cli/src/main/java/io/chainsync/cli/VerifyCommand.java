package io.chainsync.cli;

import io.chainsync.jobs.CopyOptions;
import io.chainsync.jobs.LayerVerifier;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code chainsync verify}: every rebuilt layer against its source, without qemu at the destination. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Checks rebuilt layers against their sources (served as for copy), without qemu:",
            "header and backing, the ranges each layer provides (source block status vs the layer's own",
            "L2 map) and a digest of each layer's content read alone. Prints one line per layer:",
            "VERIFIED NAME ... or DIFFERS NAME at offset N: reason. Exit 0 only when every layer verifies.",
            "A verified layer's digests are recorded in NAME.manifest.json; --manifest checks them later."})
final class VerifyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--layer", paramLabel = "NAME=NBD_URI",
            description = "a layer and its source, as for copy; repeat, bottom first")
    List<String> layers = new ArrayList<>();

    @Option(names = "--dest", required = true, paramLabel = "DIR", description = "the directory holding the layers")
    Path dest;

    @Option(names = "--connections", paramLabel = "N", defaultValue = "4",
            description = "NBD connections, and parallel readers, per source (default ${DEFAULT-VALUE})")
    int connections;

    @Option(names = "--dirty-bitmap", paramLabel = "NAME", description = "the layer is an incremental from this bitmap")
    String dirtyBitmap;

    @Option(names = "--backing", paramLabel = "NAME", description = "the first layer's backing layer in DIR")
    String backing;

    @Option(names = "--flatten", description = "the layer was made with --flatten")
    boolean flatten;

    @Option(names = "--manifest", description = "no sources: check every layer of DIR against its"
            + " NAME.manifest.json (digests recorded by an earlier verify)")
    boolean manifest;

    @Override
    public Integer call() throws Exception {
        if (manifest != layers.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give either --layer NAME=NBD_URI ... or --manifest");
        }
        if (manifest) {
            return report(new LayerVerifier(dest, CopyOptions.defaults()).verifyManifests());
        }
        List<LayerSpec> specs = LayerArgs.parse(spec, layers);
        CopyOptions options;
        try {
            JobSpec.validateBase(specs, backing, flatten, dirtyBitmap);
            CopyOptions d = CopyOptions.defaults();
            options = new CopyOptions(d.clusterBits(), connections, d.requestSize(), d.buffers(), d.writerThreads(),
                    dirtyBitmap, d.retry()).withBacking(backing).withFlatten(flatten);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        return report(new LayerVerifier(dest, options).verify(specs));
    }

    private int report(List<LayerVerifier.Outcome> outcomes) {
        return report(spec.commandLine().getOut(), dest, outcomes);
    }

    /** Verifies {@code layers} in {@code dir} (for {@code copy --verify}, {@code sync --verify}). */
    static int verify(PrintWriter out, Path dir, CopyOptions options, List<LayerSpec> layers) throws Exception {
        return report(out, dir, new LayerVerifier(dir, options).verify(layers));
    }

    private static int report(PrintWriter out, Path dest, List<LayerVerifier.Outcome> outcomes) {
        boolean all = true;
        for (LayerVerifier.Outcome o : outcomes) {
            out.println(o.line());
            all &= o.verified();
        }
        if (outcomes.isEmpty()) {
            out.println("no layer manifest in " + dest);
            all = false;
        }
        out.flush();
        return all ? 0 : Main.EXIT_FAILED;
    }
}
