package io.chainsync.copier;

import java.io.IOException;

/**
 * A sink whose file is written under a temporary name and renamed only once finished and flushed.
 * It holds the layer's directory open until it is committed or aborted.
 */
abstract class TemporaryFileSink implements LayerSink {

    private final LayerFiles files;
    private boolean committed;

    TemporaryFileSink(LayerFiles files) {
        this.files = files;
    }

    /** Writes what remains (metadata), flushes to disk and closes the writer. */
    protected abstract void finishWriter() throws IOException;

    /** Closes the writer without finishing. */
    protected abstract void abortWriter() throws IOException;

    @Override
    public final void commit() throws IOException {
        finishWriter();
        files.commit();
        committed = true;
        // a manifest left beside a layer this sink replaced describes the file that is gone
        files.dir().deleteQuietly(files.manifest());
        closeDirectory(files);
    }

    @Override
    public final void abort() {
        if (committed) {
            return;
        }
        try {
            abortWriter();
        } catch (IOException | IllegalStateException ignored) {
            // giving up anyway: the temporary file is removed next
        }
        files.discard();
        closeDirectory(files);
    }

    static void closeDirectory(LayerFiles files) {
        try {
            files.dir().close();
        } catch (IOException ignored) {
            // closing a directory stream releases a descriptor; nothing was written through it
        }
    }
}
