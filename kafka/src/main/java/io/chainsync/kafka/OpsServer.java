package io.chainsync.kafka;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * A service's operations endpoint (JDK HTTP server): {@code GET /metrics} in the Prometheus text
 * format, {@code /health/live} (200 while the process serves at all) and {@code /health/ready}
 * (200 while the service does its work: connected, assigned, running; 503 otherwise).
 */
public final class OpsServer implements AutoCloseable {

    private final HttpServer server;
    private final PrometheusMeterRegistry prometheus;

    private OpsServer(HttpServer server, PrometheusMeterRegistry prometheus) {
        this.server = server;
        this.prometheus = prometheus;
    }

    /**
     * Adds a Prometheus registry to the global one and serves it.
     *
     * @param port 0 for any free port
     * @param ready whether the service is ready
     */
    public static OpsServer start(String host, int port, BooleanSupplier ready) throws IOException {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(prometheus);
        new JvmThreadMetrics().bindTo(prometheus);
        new ProcessorMetrics().bindTo(prometheus);
        new UptimeMetrics().bindTo(prometheus);
        new JvmGcMetrics().bindTo(prometheus);
        Metrics.addRegistry(prometheus);
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "chainsync-ops-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/metrics", ex -> reply(ex, 200, "text/plain; version=0.0.4; charset=utf-8", prometheus.scrape()));
        server.createContext("/health/live", ex -> reply(ex, 200, "text/plain", "UP\n"));
        server.createContext("/health/ready", ex -> {
            boolean up;
            try {
                up = ready.getAsBoolean();
            } catch (RuntimeException e) {
                up = false;
            }
            reply(ex, up ? 200 : 503, "text/plain", up ? "UP\n" : "DOWN\n");
        });
        server.start();
        return new OpsServer(server, prometheus);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        Metrics.removeRegistry(prometheus);
        prometheus.close();
    }
}
