package io.chainsync.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Gauge;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Grafana dashboard (deploy/grafana/chainsync-dashboard.json) queries only metrics that
 * docs/operations.md lists, and the names both use are the ones a service really serves: the
 * test binds the meters as a service does, without a broker, and scrapes {@code /metrics}.
 */
@Timeout(60)
class DashboardTest {

    static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "chainsync-dashboard.json");
    static final Path DOC = Path.of("..", "docs", "operations.md");
    /** A metric name in a query: chainsync's own and the Kafka clients'. */
    static final Pattern METRIC = Pattern.compile("\\b((?:chainsync|kafka)_[a-z0-9_]+)\\b");
    /** The series Prometheus makes of a histogram (timer), named in the docs by their base name. */
    static final Pattern HISTOGRAM_SERIES = Pattern.compile("_(bucket|count|sum|max)$");

    @Test
    void everyMetricTheDashboardQueriesIsDocumented() throws Exception {
        String doc = Files.readString(DOC);
        Set<String> queried = queried();
        assertTrue(queried.size() >= 7, "the dashboard queries " + queried);
        Set<String> missing = new TreeSet<>();
        for (String name : queried) {
            if (!doc.contains("`" + name + "`") && !doc.contains("`" + HISTOGRAM_SERIES.matcher(name).replaceFirst("") + "`")) {
                missing.add(name);
            }
        }
        assertEquals(Set.of(), missing, "queried by the dashboard, not in docs/operations.md");
    }

    @Test
    void theDashboardAndTheDocsNameMetricsAServiceServes() throws Exception {
        Set<String> served = served();
        Set<String> unknown = new TreeSet<>();
        for (String name : queried()) {
            if (!served.contains(name)) {
                unknown.add(name);
            }
        }
        assertEquals(Set.of(), unknown, "queried by the dashboard, served by no service; served: " + served);
        // chainsync's own meters, as the docs' table names them
        Matcher m = Pattern.compile("(?m)^\\| `(chainsync_[a-z0-9_]+)`").matcher(Files.readString(DOC));
        Set<String> documented = new TreeSet<>();
        while (m.find()) {
            documented.add(m.group(1));
        }
        assertEquals(7, documented.size(), "the meters table of docs/operations.md: " + documented);
        for (String name : documented) {
            assertTrue(served.contains(name) || served.contains(name + "_count"), name + " is not served: " + served);
        }
    }

    /** Metric names in the dashboard's queries. */
    private static Set<String> queried() throws Exception {
        String json = Files.readString(DASHBOARD);
        Matcher expr = Pattern.compile("\"expr\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        Set<String> names = new TreeSet<>();
        while (expr.find()) {
            Matcher m = METRIC.matcher(expr.group(1));
            while (m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** The metric names of a scrape of a process holding every meter a service registers. */
    private static Set<String> served() throws Exception {
        ServiceMetrics.bytesRead().increment();
        ServiceMetrics.bytesWritten().increment();
        ServiceMetrics.chunks("done").increment();
        ServiceMetrics.chunkTimer("copy").record(Duration.ofMillis(5));
        ServiceMetrics.nbdTimer("read").record(Duration.ofMillis(1));
        ServiceMetrics.nbdErrors("read").increment();
        Gauge.builder(ServiceMetrics.JOBS, () -> 1).tag("state", "COMPLETE").register(ServiceMetrics.registry());
        Map<String, Object> clients = Map.of("bootstrap.servers", "127.0.0.1:9", "client.id", "dashboard-test");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(clients, new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(clients, new ByteArraySerializer(),
                     new ByteArraySerializer());
             AutoCloseable c = ServiceMetrics.bind(consumer);
             AutoCloseable p = ServiceMetrics.bind(producer);
             OpsServer server = OpsServer.start("127.0.0.1", 0, () -> true)) {
            String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            Set<String> names = new TreeSet<>();
            for (String line : scrape.lines().toList()) {
                if (!line.startsWith("#") && !line.isBlank()) {
                    names.add(line.split("[{ ]", 2)[0]);
                }
            }
            return names;
        }
    }
}
