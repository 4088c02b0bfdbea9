package io.chainsync.cli;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.RegistryHttp;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/**
 * Asks the broker and the registry whether they answer before a command relies on them, so that
 * an unreachable one is one line naming its address (exit 3) within the command's timeout rather
 * than a client's own minute-long retries and a stack trace.
 */
final class Reachability {

    private Reachability() {
    }

    /** Checks both, side by side; a failure of Kafka's is reported first, as if checked first. */
    static void check(ClientConfig config, Duration timeout) {
        java.util.concurrent.CompletableFuture<Void> registry =
                java.util.concurrent.CompletableFuture.runAsync(() -> checkRegistry(config, timeout));
        checkKafka(config, timeout);
        try {
            registry.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    static void checkKafka(ClientConfig config, Duration timeout) {
        Properties p = config.adminProperties();
        int ms = (int) Math.max(1000, timeout.toMillis());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "chainsync-cli-probe");
        Admin admin;
        try {
            admin = Admin.create(p);
        } catch (RuntimeException e) {
            throw new Unreachable("cannot reach Kafka at " + config.bootstrapServers() + ": " + reason(e));
        }
        try {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs(ms)).clusterId().get(ms + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted while reaching Kafka at " + config.bootstrapServers());
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (cause instanceof org.apache.kafka.common.errors.AuthenticationException) {
                // reached, but refused: SASL (wrong user or password) or TLS (untrusted certificate); exit 1
                throw new IllegalStateException("cannot authenticate with Kafka at " + config.bootstrapServers()
                        + " (see --kafka-config): " + cause.getMessage(), cause);
            }
            String why = cause instanceof TimeoutException || cause instanceof org.apache.kafka.common.errors.TimeoutException
                    ? "no answer within " + Sizes.duration(Math.max(1, timeout.toSeconds())) : reason(cause);
            throw new Unreachable("cannot reach Kafka at " + config.bootstrapServers() + ": " + why);
        } finally {
            admin.close(Duration.ZERO);
        }
    }

    /**
     * The Apicurio v2 API answers {@code GET URL/system/info}; anything else is not the registry.
     * The request carries {@code --registry-config}'s trust store and credentials.
     */
    static void checkRegistry(ClientConfig config, Duration timeout) {
        String registryUrl = config.registryUrl();
        HttpResponse<Void> response;
        try {
            RegistryHttp http = RegistryHttp.of(config, timeout);
            response = http.client().send(http.request("/system/info").GET().build(), HttpResponse.BodyHandlers.discarding());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted while reaching the schema registry at " + registryUrl);
        } catch (IllegalArgumentException e) {
            throw e; // a trust store that cannot be read: the settings, not the registry
        } catch (Exception e) {
            throw new Unreachable("cannot reach the schema registry at " + registryUrl + ": " + reason(e));
        }
        if (response.statusCode() == 401 || response.statusCode() == 403) {
            throw new IllegalStateException("the schema registry at " + registryUrl + " refused this client (HTTP "
                    + response.statusCode() + "; see --registry-config)");
        }
        if (response.statusCode() != 200) {
            throw new Unreachable("the schema registry at " + registryUrl + " answered HTTP " + response.statusCode()
                    + " to /system/info: is it an Apicurio registry's v2 API (http://HOST:PORT/apis/registry/v2)?");
        }
    }

    /** The innermost message of a failure, with its type when it has none. */
    static String reason(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        if (root instanceof java.net.ConnectException && (message == null || message.isBlank())) {
            return "connection refused";
        }
        if (root instanceof java.net.http.HttpTimeoutException || root instanceof java.net.http.HttpConnectTimeoutException) {
            return "no answer in time";
        }
        return message == null || message.isBlank() ? root.getClass().getSimpleName() : message;
    }
}
