package io.chainsync.cli;

/** The broker or the registry did not answer in time: one line naming the address, exit 3. */
final class Unreachable extends RuntimeException {

    Unreachable(String message) {
        super(message, null, false, false);
    }
}
