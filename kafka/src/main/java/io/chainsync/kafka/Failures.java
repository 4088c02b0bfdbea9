package io.chainsync.kafka;

import io.apicurio.registry.rest.client.exception.RestClientException;
import io.chainsync.nbd.NbdErrors;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.errors.RetriableException;

/**
 * Tells transient failures (something is away for a while: retry) from permanent ones (retrying
 * cannot help: fail, or set the record aside). Walks the cause chain.
 *
 * <p>Transient: a broker that does not answer (Kafka's {@link RetriableException}, Kafka
 * timeouts), a registry or NBD server that refuses or drops connections, a deadline passed.
 * Everything else is permanent: bad bytes, an unknown schema id, a protocol violation, a
 * layer that cannot be reproduced.
 */
public final class Failures {

    private Failures() {
    }

    public static boolean isTransient(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof TransientFailure) {
                return true;
            }
            if (c instanceof RestClientException) {
                // the registry client reports "no response" (connection refused, timed out) as an
                // error without an HTTP status; 5xx and 429 are the registry's own outage
                io.apicurio.registry.rest.v2.beans.Error error = ((RestClientException) c).getError();
                Integer status = error == null ? null : error.getErrorCode();
                if (status == null || status == 0 || status >= 500 || status == 429) {
                    return true;
                }
            }
            if (c instanceof RetriableException || c instanceof org.apache.kafka.common.errors.TimeoutException
                    || c instanceof org.apache.kafka.common.errors.DisconnectException) {
                return true;
            }
            if (c instanceof ConnectException || c instanceof NoRouteToHostException
                    || c instanceof SocketTimeoutException || c instanceof HttpTimeoutException
                    || c instanceof UnknownHostException || c instanceof ClosedChannelException
                    || (c instanceof SocketException)) {
                return true;
            }
            if (c instanceof EOFException && c.getMessage() != null && c.getMessage().contains("connection")) {
                return true;
            }
            String name = c.getClass().getName();
            if (name.equals("java.net.http.HttpConnectTimeoutException")) {
                return true;
            }
            if (c.getMessage() != null && (c.getMessage().contains("Connection refused")
                    || c.getMessage().contains("Connection reset"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether work that reads NBD sources and talks to Kafka may succeed if retried: a transient
     * failure of the broker or registry ({@link #isTransient}) or of an NBD source
     * ({@link NbdErrors#isTransient}). The one check of the scanner, copier and copy command.
     */
    public static boolean isTransientWork(Throwable t) {
        return isTransient(t) || NbdErrors.isTransient(t);
    }

    /**
     * The registry refused this client (HTTP 401 or 403): its credentials are wrong or missing
     * ({@code --registry-config}). Neither transient nor a fault of the record: a record must not be
     * set aside for it.
     */
    public static boolean isRegistryRefusal(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof RestClientException r && r.getError() != null && r.getError().getErrorCode() != null) {
                int status = r.getError().getErrorCode();
                if (status == 401 || status == 403) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The innermost meaningful message of a failure, for one-line reasons. */
    public static String reason(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException
                || c instanceof UncheckedIOException) && c.getCause() != null) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return m == null || m.isBlank() ? c.getClass().getSimpleName() : m;
    }

    /** Marks a failure as transient where its type alone would not say so. */
    public static final class TransientFailure extends IOException {
        public TransientFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
