package io.chainsync.copier;

import java.io.IOException;

/**
 * A destination cannot be written without leaving the destination root or following a link
 * (docs/design.md §3, "Confinement"): a symbolic link, something that is not a directory or not a
 * regular file where one is needed, or a directory that changed while it was opened. Permanent.
 */
public final class ConfinementException extends IOException {

    public ConfinementException(String message) {
        super(message);
    }
}
