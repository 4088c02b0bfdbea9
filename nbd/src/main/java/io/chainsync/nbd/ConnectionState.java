package io.chainsync.nbd;

import io.chainsync.nbd.protocol.NbdException;

/**
 * Life cycle of an NBD connection (and of a client as a whole):
 *
 * <pre>
 * Negotiating --negotiated--> Transmission --closing--> Closing --closed--> Closed
 *      |                           |                       |
 *      +--------failed-------------+----> Failed ----------+--closed--> Closed
 * </pre>
 *
 * <p>Requests are permitted only in {@link Transmission}; {@link #require(String)} throws a clear
 * {@link IllegalStateException} otherwise. Illegal transitions throw {@link IllegalStateException}.
 */
public sealed interface ConnectionState {

    /** Handshake in progress. */
    record Negotiating() implements ConnectionState {
        public Transmission negotiated() {
            return new Transmission();
        }

        public Failed failed(NbdException cause) {
            return new Failed(cause);
        }

        @Override
        public Closed closed() {
            return new Closed();
        }
    }

    /** Ready for requests. */
    record Transmission() implements ConnectionState {
        public Closing closing() {
            return new Closing();
        }

        public Failed failed(NbdException cause) {
            return new Failed(cause);
        }
    }

    /** {@code close()} in progress: no new requests, in-flight ones are finishing. */
    record Closing() implements ConnectionState {
        @Override
        public Closed closed() {
            return new Closed();
        }
    }

    /**
     * A fatal error happened (protocol error, connection lost, request deadline passed); every request
     * fails with {@code cause} and {@link #require(String)} throws at once. Terminal but for
     * {@link #closed()}: a new connection is needed. {@link NbdErrors#isTransient(Throwable)} tells
     * whether one may succeed.
     */
    record Failed(NbdException cause) implements ConnectionState {
        @Override
        public Closed closed() {
            return new Closed();
        }
    }

    /** Closed; terminal. */
    record Closed() implements ConnectionState {
    }

    /** Transition to {@link Closed}, permitted from every state but {@link Transmission} and {@link Closed}. */
    default Closed closed() {
        throw new IllegalStateException("illegal transition from " + name() + " to Closed");
    }

    /** Short name, e.g. {@code "Transmission"}. */
    default String name() {
        return getClass().getSimpleName();
    }

    /** True only in {@link Transmission}. */
    default boolean permitsRequests() {
        return this instanceof Transmission;
    }

    /**
     * Guard of every public request method.
     *
     * @param operation what the caller tries to do, e.g. {@code "read"}
     * @throws IllegalStateException unless in {@link Transmission}; in {@link Failed} its cause is the
     *     failure
     */
    default void require(String operation) {
        if (this instanceof Transmission) {
            return;
        }
        String message = "cannot " + operation + ": NBD connection is " + name();
        if (this instanceof Failed failed) {
            throw new IllegalStateException(message + " (" + failed.cause().getMessage() + ")", failed.cause());
        }
        throw new IllegalStateException(message);
    }
}
