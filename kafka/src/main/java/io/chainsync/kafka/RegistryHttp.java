package io.chainsync.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Plain HTTP requests to the registry's REST API (reachability, the public schema contract) with
 * the same settings as the serdes' registry client: the trust store
 * ({@code apicurio.registry.request.ssl.truststore.location|type|password}) and basic
 * authentication ({@code apicurio.auth.username|password}) of {@code --registry-config}.
 */
public final class RegistryHttp {

    private final String base;
    private final HttpClient client;
    private final String authorization;
    private final Duration timeout;

    private RegistryHttp(String base, HttpClient client, String authorization, Duration timeout) {
        this.base = base;
        this.client = client;
        this.authorization = authorization;
        this.timeout = timeout;
    }

    public static RegistryHttp of(ClientConfig config, Duration timeout) {
        return of(config.registryUrl(), config.registry(), timeout);
    }

    public static RegistryHttp of(String registryUrl, Map<String, String> settings, Duration timeout) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(timeout);
        String store = settings.get("apicurio.registry.request.ssl.truststore.location");
        if (store != null) {
            builder.sslContext(sslContext(Path.of(store),
                    settings.getOrDefault("apicurio.registry.request.ssl.truststore.type", KeyStore.getDefaultType()),
                    settings.get("apicurio.registry.request.ssl.truststore.password")));
        }
        String user = settings.get("apicurio.auth.username");
        String authorization = user == null ? null : "Basic " + Base64.getEncoder().encodeToString(
                (user + ":" + settings.getOrDefault("apicurio.auth.password", "")).getBytes(StandardCharsets.UTF_8));
        String base = registryUrl.endsWith("/") ? registryUrl.substring(0, registryUrl.length() - 1) : registryUrl;
        return new RegistryHttp(base, builder.build(), authorization, timeout);
    }

    private static SSLContext sslContext(Path store, String type, String password) {
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore trust = KeyStore.getInstance(type);
            trust.load(in, password == null ? null : password.toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            return ssl;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot load the registry trust store " + store + ": " + e.getMessage(), e);
        }
    }

    public HttpClient client() {
        return client;
    }

    /** A request to {@code URL/path} with the timeout and authentication set. */
    public HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout);
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return b;
    }
}
