package io.chainsync.cli;

import io.chainsync.jobs.ChainCopier;
import io.chainsync.jobs.CopyOptions;
import io.chainsync.jobs.LayerCopyException;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code chainsync copy}: scanner, decisions and copier in one process, no Kafka. */
@Command(name = "copy", mixinStandardHelpOptions = true,
        description = {"Reconstructs a chain directly, in one process (no Kafka).",
            "Layers are listed bottom first; each URI serves that layer alone",
            "(qcow2: qemu-nbd -A with backing:null; a raw bottom layer: without -A)",
            "or with its backing chain attached."})
final class CopyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--layer", required = true, paramLabel = "NAME=NBD_URI",
            description = "a layer: destination file name and source URI (nbd://host[:port]/export or"
                    + " nbd+unix:///export?socket=PATH; TLS: nbds://host[:port]/export?tls-certificates=DIR,"
                    + " nbds+unix:///export?socket=PATH&tls-certificates=DIR, or tls-psk-file=FILE with"
                    + " nbds://USER@host/...); repeat, bottom first")
    List<String> layers = new ArrayList<>();

    @Option(names = "--dest", required = true, paramLabel = "DIR", description = "destination directory")
    Path dest;

    @Option(names = "--cluster-size", paramLabel = "BYTES",
            description = "force the destination cluster size (512..2097152); refused when it cannot be exact")
    Long clusterSize;

    @Option(names = "--connections", paramLabel = "N", defaultValue = "4",
            description = "NBD connections per source when the server allows multi-conn (default ${DEFAULT-VALUE})")
    int connections;

    @Option(names = "--dirty-bitmap", paramLabel = "NAME",
            description = "incremental: copy only what qemu:dirty-bitmap:NAME marks dirty")
    String dirtyBitmap;

    @Option(names = "--backing", paramLabel = "NAME",
            description = "put the first layer on NAME, an existing layer in the destination (e.g. the previous"
                    + " backup, for an incremental)")
    String backing;

    @Option(names = "--flatten",
            description = "one layer holding everything the source's whole chain provides (serve the disk with its"
                    + " backing chain attached)")
    boolean flatten;

    @Option(names = "--verify", description = "then verify every layer against its source (as chainsync verify)")
    boolean verify;

    @Option(names = "--replace", description = "replace layers that exist in the destination (atomically, once"
            + " complete); never a file another chain there uses as its backing file")
    boolean replace;

    @Override
    public Integer call() {
        List<LayerSpec> specs = new ArrayList<>();
        CopyOptions options;
        try {
            for (String layer : layers) {
                specs.add(LayerSpec.parse(layer));
            }
            JobSpec.validateChain(specs);
            CopyOptions defaults = CopyOptions.defaults();
            options = new CopyOptions(defaults.clusterBits(), connections, defaults.requestSize(), defaults.buffers(),
                    defaults.writerThreads(), dirtyBitmap, defaults.retry()).withBacking(backing).withFlatten(flatten)
                    .withReplace(replace);
            JobSpec.validateBase(specs, backing, flatten, dirtyBitmap);
            if (clusterSize != null) {
                options = options.withClusterSize(clusterSize);
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        // SIGINT/SIGTERM: remove the temporary files of this copy; the JVM then exits 130/143
        java.io.PrintWriter err = spec.commandLine().getErr();
        java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
        Thread cleanup = new Thread(() -> {
            if (!finished.get()) {
                ChainCopier.discardTemporaries(dest, specs);
                err.println("chainsync: copy interrupted; temporary files removed");
                err.flush();
            }
        }, "chainsync-copy-interrupted");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try (TerminalProgress progress = TerminalProgress.forStderr(err)) {
            new ChainCopier(dest, options, progress).copy(specs);
        } catch (LayerCopyException e) {
            err.println("chainsync: " + e.getMessage());
            return Main.EXIT_FAILED;
        } finally {
            finished.set(true);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or has run
            }
        }
        return verify ? verifyCopy(options, specs) : 0;
    }

    private int verifyCopy(CopyOptions options, List<LayerSpec> specs) {
        try {
            return VerifyCommand.verify(spec.commandLine().getOut(), dest, options, specs);
        } catch (Exception e) {
            spec.commandLine().getErr().println("chainsync: verify: " + (e.getMessage() == null ? e : e.getMessage()));
            return Main.EXIT_FAILED;
        }
    }
}
