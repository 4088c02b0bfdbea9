package io.chainsync.nbd.protocol;

/**
 * The server failed one request with an NBD error value (simple reply error or an error chunk).
 *
 * <p>Recoverable: the connection stays usable for other requests.
 */
public class NbdRequestException extends NbdException {

    private final int error;
    private final String serverMessage;

    /**
     * @param operation what failed, e.g. {@code "NBD_CMD_READ offset=0 length=4096"}
     * @param error the NBD error value (e.g. {@link NbdConstants#NBD_EIO})
     * @param serverMessage the server's human readable message, or {@code null}/empty if none
     */
    public NbdRequestException(String operation, int error, String serverMessage) {
        super(format(operation, error, serverMessage));
        this.error = error;
        this.serverMessage = serverMessage == null ? "" : serverMessage;
    }

    private static String format(String operation, int error, String serverMessage) {
        String text = operation + " failed: " + NbdConstants.errnoName(error);
        return serverMessage == null || serverMessage.isEmpty() ? text : text + ": " + serverMessage;
    }

    /** The NBD error value. */
    public int error() {
        return error;
    }

    /** The error's name, e.g. {@code "EIO"}. */
    public String errorName() {
        return NbdConstants.errnoName(error);
    }

    /** The server's message, empty if it sent none. */
    public String serverMessage() {
        return serverMessage;
    }
}
