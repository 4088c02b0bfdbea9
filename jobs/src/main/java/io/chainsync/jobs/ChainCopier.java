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
import io.chainsync.scanner.LayerScan;
import io.chainsync.scanner.LayerScanner;
import io.chainsync.scanner.LayerSpec;

import io.chainsync.nbd.NbdClient;
import io.chainsync.nbd.NbdErrors;
import io.chainsync.core.Decider;
import io.chainsync.core.DecisionTable;
import io.chainsync.core.LayerPlan;
import io.chainsync.core.MetaContexts;
import io.chainsync.core.NotReproducibleException;
import java.io.IOException;
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
                boolean transientFailure = Failures.isTransient(e.getCause()) || NbdErrors.isTransient(e.getCause());
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
            LayerPlan plan = plan(client, first && backing == null); // a backing layer lies below
            if (first && backing != null) {
                try (DestDir dir = DestDir.of(destination, FileModes.DEFAULT)) {
                    BackingLayer.check(dir, backing, plan.virtualSize());
                }
            }
            LOGGER.atInfo().setMessage("layer planned").addKeyValue("layer", layer.name())
                    .addKeyValue("size", plan.virtualSize()).addKeyValue("clusterSize", plan.clusterSize())
                    .addKeyValue("dataClusters", plan.dataClusters()).log();
            progress.layerPlanned(layer.name(), plan.dataBytes());
            try (LayerSink sink = LayerSink.open(target, plan.virtualSize(), plan.clusterBits(), backing)) {
                copier.copy(client, plan.runs(), plan.clusterBits(), plan.virtualSize(), sink,
                        n -> progress.bytesCopied(layer.name(), n));
                sink.map(plan.runs());
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

    private LayerPlan plan(NbdClient client, boolean bottom) throws IOException {
        DecisionTable.Mode mode = DecisionTable.selectMode(bottom, client.metaContexts(), options.dirtyBitmap(),
                options.flatten());
        List<String> contexts = DecisionTable.contexts(mode, options.dirtyBitmap());
        LayerScan scan = new LayerScanner(client, contexts).scan();
        return LayerPlan.of(decider, mode, client.size(), scan.of(MetaContexts.BASE_ALLOCATION),
                contexts.size() > 1 ? scan.of(contexts.get(1)) : null, options.clusterBits());
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
