package io.chainsync.jobs;

import io.chainsync.copier.BackingLayer;
import io.chainsync.copier.DataCopier;
import io.chainsync.copier.DestDir;
import io.chainsync.copier.FileModes;
import io.chainsync.copier.Destinations;
import io.chainsync.copier.ExistingLayers;
import io.chainsync.copier.LayerExistsException;
import io.chainsync.kafka.Backoff;
import io.chainsync.kafka.Failures;
import io.chainsync.copier.LayerSink;
import io.chainsync.scanner.JobSpec;
import io.chainsync.scanner.LayerScanner;
import io.chainsync.scanner.LayerSpec;

import io.chainsync.nbd.NbdClient;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.ClusterRun;
import io.chainsync.core.ClusterRunStream;
import io.chainsync.core.Decider;
import io.chainsync.core.DecisionStream;
import io.chainsync.core.DecisionTable;
import io.chainsync.core.LayerShape;
import io.chainsync.core.NotReproducibleException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconstructs a chain layer by layer in one process: scan → decide → copy, the baseline the
 * distributed pipeline must match. Layer i is written to {@code DEST/NAME_i} with layer i-1 as its
 * backing file (relative name, with its format); the first layer's backing file is the options'
 * existing layer ({@code --backing}, checked by {@link BackingLayer}), or none.
 */
public final class ChainCopier {

    private static final Logger LOGGER = LoggerFactory.getLogger(ChainCopier.class);

    private final Path destination;
    private final CopyOptions options;
    private final CopyProgress progress;
    private final Decider decider;
    private int retries;
    /** The names of the layers being copied. */
    private List<String> names = List.of();

    public ChainCopier(Path destination, CopyOptions options, CopyProgress progress) {
        this(destination, options, progress, Decider.TABLE);
    }

    /** With another decider: only for tests proving that a naive copier is caught. */
    public ChainCopier(Path destination, CopyOptions options, CopyProgress progress, Decider decider) {
        this.destination = destination;
        this.options = options;
        this.progress = progress;
        this.decider = decider;
    }

    /**
     * Copies every layer, bottom first; stops at the first layer that cannot be reproduced exactly.
     * Before anything is copied, every layer name is checked against the destination
     * ({@link ExistingLayers}): one that exists is refused unless the options replace, and one that
     * another chain there uses as its backing file is refused even then.
     */
    public void copy(List<LayerSpec> layers) throws LayerCopyException {
        JobSpec.validateChain(layers);
        JobSpec.validateBase(layers, options.backing(), options.flatten(), options.dirtyBitmap());
        List<String> names = layers.stream().map(LayerSpec::name).toList();
        for (String name : names) {
            try {
                ExistingLayers.checkLayer(destination, name, names, options.replace());
            } catch (LayerExistsException e) {
                throw new LayerCopyException(e.layer(), e.reason(), e);
            } catch (java.nio.file.NoSuchFileException e) {
                break; // no destination yet: nothing in the way
            } catch (IOException e) {
                throw new LayerCopyException(name, describe(e), e);
            }
        }
        try {
            Files.createDirectories(destination);
        } catch (IOException e) {
            throw new LayerCopyException(layers.get(0).name(), "cannot create destination " + destination + ": " + e, e);
        }
        this.names = names;
        ExecutorService writers = Executors.newFixedThreadPool(options.writerThreads(), r -> {
            Thread t = new Thread(r, "chainsync-writer");
            t.setDaemon(true);
            return t;
        });
        try {
            DataCopier copier = new DataCopier(options.requestSize(), options.buffers(), writers);
            for (int i = 0; i < layers.size(); i++) {
                copyLayer(layers.get(i), i == 0 ? options.backing() : layers.get(i - 1).name(), i == 0, copier);
            }
        } finally {
            writers.shutdownNow();
        }
    }

    /**
     * Copies one layer; after a transient failure (the source restarted, a connection dropped, a
     * deadline passed) the layer is copied again on a new connection, up to the options' attempts.
     */
    private void copyLayer(LayerSpec layer, String backing, boolean first, DataCopier copier)
            throws LayerCopyException {
        Backoff retry = options.retry();
        for (int attempt = 1; ; attempt++) {
            try {
                copyLayerOnce(layer, backing, first, copier);
                return;
            } catch (LayerCopyException e) {
                boolean transientFailure = Failures.isTransientWork(e.getCause());
                if (!transientFailure || attempt >= retry.attempts()) {
                    if (transientFailure) {
                        throw new LayerCopyException(layer.name(), e.reason() + " (source " + layer.source()
                                + ", gave up after " + attempt + " attempts)", e.getCause());
                    }
                    throw e;
                }
                LOGGER.atWarn().setMessage("layer copy failed, retrying").addKeyValue("layer", layer.name())
                        .addKeyValue("attempt", attempt).addKeyValue("reason", e.reason()).log();
                retries++;
                try {
                    retry.pause(attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /**
     * Removes the temporary files a copy of {@code layers} into {@code destination} may have left
     * (an interrupted copy); finished layers stay.
     */
    public static void discardTemporaries(Path destination, List<LayerSpec> layers) {
        for (LayerSpec layer : layers) {
            LayerSink.discard(Destinations.layerFile(destination, layer.name()));
        }
    }

    /** Layer copies tried again after a transient failure. */
    public int retries() {
        return retries;
    }

    /**
     * Copies one layer in two streamed passes over its block status, so that memory stays bounded
     * whatever the layer's size or number of extents (docs/design.md, "The destination format"):
     * the first pass decides every range and keeps only the layer's {@link LayerShape} (which
     * cluster sizes are exact, how many DATA clusters each gives); the second decides again and
     * feeds each cluster run, as it is produced, to the sink's mapping and to the data copier.
     *
     * @param backing the backing file's name (the layer below, or for the first layer the
     *                existing layer of {@code --backing}), or null
     */
    private void copyLayerOnce(LayerSpec layer, String backing, boolean first, DataCopier copier)
            throws LayerCopyException {
        Path target = Destinations.layerFile(destination, layer.name());
        NbdClient.Options clientOptions = NbdClient.Options.defaults()
                .withMetaContexts(DecisionTable.requestedContexts(options.dirtyBitmap()))
                .withConnections(options.connections())
                .withMaxInFlight(Math.max(4, options.buffers()));
        try (NbdClient client = NbdClient.connect(layer.source(), clientOptions)) {
            DecisionTable.Mode mode = DecisionTable.selectMode(first && backing == null, client.metaContexts(),
                    options.dirtyBitmap(), options.flatten()); // a backing layer lies below
            LayerScanner scanner = new LayerScanner(client, DecisionTable.contexts(mode, options.dirtyBitmap()),
                    LayerScanner.MAX_REQUEST, 1);
            long size = client.size();
            if (first && backing != null) {
                try (DestDir dir = DestDir.of(destination, FileModes.DEFAULT)) {
                    BackingLayer.check(dir, backing, size);
                }
            }
            LayerShape shape = new LayerShape(0, size, mode.exactOwnership());
            DecisionStream firstPass = new DecisionStream(decider, mode, 0, size, shape::accept);
            scanner.stream(0, size).run(firstPass::offer);
            firstPass.finish();
            int bits = ClusterMap.chooseClusterBits(shape.alignment(), options.clusterBits());
            long dataClusters = shape.dataClusters(bits);
            LOGGER.atInfo().setMessage("layer planned").addKeyValue("layer", layer.name())
                    .addKeyValue("size", size).addKeyValue("clusterSize", 1L << bits)
                    .addKeyValue("dataClusters", dataClusters).log();
            progress.layerPlanned(layer.name(), shape.dataBytes(bits));
            try (LayerSink sink = LayerSink.open(target, size, bits, backing)) {
                sink.reserveDataClusters(dataClusters);
                StreamedRuns runs = new StreamedRuns(scanner.stream(0, size), mode, size, bits, sink);
                copier.copy(client, runs, bits, size, sink, n -> progress.bytesCopied(layer.name(), n));
                runs.finish(dataClusters);
                // just before the rename: nothing may have taken the name, or come to use it as a backing file
                ExistingLayers.checkLayer(destination, layer.name(), names, options.replace());
                sink.commit();
            }
            progress.layerCompleted(layer.name());
        } catch (NotReproducibleException e) {
            throw new LayerCopyException(layer.name(), e.getMessage(), e);
        } catch (LayerExistsException e) {
            throw new LayerCopyException(e.layer(), e.reason(), e);
        } catch (IOException | RuntimeException e) {
            throw new LayerCopyException(layer.name(), describe(e), e);
        }
    }

    /**
     * The second pass: the layer's cluster runs, produced one block-status reply at a time as the
     * copier asks for more, each mapped into the sink before it is handed to the copier.
     */
    private final class StreamedRuns implements Iterable<ClusterRun>, Iterator<ClusterRun> {
        private final LayerScanner.Stream scan;
        private final DecisionStream decisions;
        private final ClusterRunStream runs;
        private final LayerSink sink;
        private final ArrayDeque<ClusterRun> ready = new ArrayDeque<>();
        private boolean scanned;

        StreamedRuns(LayerScanner.Stream scan, DecisionTable.Mode mode, long size, int bits, LayerSink sink) {
            this.scan = scan;
            this.sink = sink;
            this.runs = new ClusterRunStream(bits, 0, size, 0, mode.exactOwnership(), ready::add);
            this.decisions = new DecisionStream(decider, mode, 0, size, runs::accept);
        }

        @Override
        public Iterator<ClusterRun> iterator() {
            return this;
        }

        @Override
        public boolean hasNext() {
            try {
                while (ready.isEmpty() && !scanned) {
                    if (!scan.step(decisions::offer)) {
                        decisions.finish();
                        runs.finish();
                        scanned = true;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return !ready.isEmpty();
        }

        @Override
        public ClusterRun next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            ClusterRun run = ready.poll();
            try {
                sink.map(List.of(run));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return run;
        }

        /** After the copy: every run was mapped, and the second pass found what the first did. */
        void finish(long expectedDataClusters) throws IOException {
            while (hasNext()) {
                next(); // a copy that returned normally took every run already
            }
            if (runs.nextDataIndex() != expectedDataClusters) {
                throw new IOException("the source changed while it was copied: " + expectedDataClusters
                        + " data clusters planned, " + runs.nextDataIndex() + " found");
            }
        }
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
