package io.chainsync.kafka;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import java.time.Duration;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The services' meters (every one is listed in docs/operations.md). They are recorded in
 * Micrometer's global registry, which costs next to nothing until a registry is added to it:
 * {@code --metrics-port} adds a Prometheus registry and serves it ({@link OpsServer}).
 */
public final class ServiceMetrics {

    public static final String BYTES_READ = "chainsync.source.read";
    public static final String BYTES_WRITTEN = "chainsync.dest.written";
    public static final String CHUNKS = "chainsync.chunks";
    public static final String CHUNK_SECONDS = "chainsync.chunk.duration";
    public static final String NBD_REQUEST_SECONDS = "chainsync.nbd.request.duration";
    public static final String NBD_ERRORS = "chainsync.nbd.errors";
    public static final String JOBS = "chainsync.jobs";

    private ServiceMetrics() {
    }

    public static MeterRegistry registry() {
        return Metrics.globalRegistry;
    }

    /** Data bytes read from NBD sources. */
    public static Counter bytesRead() {
        return Counter.builder(BYTES_READ).baseUnit("bytes").description("data bytes read from NBD sources")
                .register(registry());
    }

    /** Data bytes written to destination layers. */
    public static Counter bytesWritten() {
        return Counter.builder(BYTES_WRITTEN).baseUnit("bytes").description("data bytes written to destination layers")
                .register(registry());
    }

    /** Copy tasks by outcome: {@code done}, {@code failed}, {@code retried} (an attempt retried after a transient failure). */
    public static Counter chunks(String outcome) {
        return Counter.builder(CHUNKS).tag("outcome", outcome).description("copier tasks by outcome")
                .register(registry());
    }

    /** How long a copier task took, by kind (copy, finalize). */
    public static Timer chunkTimer(String kind) {
        return Timer.builder(CHUNK_SECONDS).tag("kind", kind).description("copier task duration")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(10)).register(registry());
    }

    /** How long one NBD request took, by command (read, block-status). */
    public static Timer nbdTimer(String command) {
        return Timer.builder(NBD_REQUEST_SECONDS).tag("command", command).description("NBD request duration")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(60)).register(registry());
    }

    /** NBD requests that failed, by command. */
    public static Counter nbdErrors(String command) {
        return Counter.builder(NBD_ERRORS).tag("command", command).description("failed NBD requests")
                .register(registry());
    }

    /** Binds a Kafka client's own metrics; close the result with the client. */
    public static AutoCloseable bind(Consumer<?, ?> consumer) {
        KafkaClientMetrics m = new KafkaClientMetrics(consumer);
        m.bindTo(registry());
        return m;
    }

    public static AutoCloseable bind(Producer<?, ?> producer) {
        KafkaClientMetrics m = new KafkaClientMetrics(producer);
        m.bindTo(registry());
        return m;
    }

    public static AutoCloseable bind(KafkaStreams streams) {
        KafkaStreamsMetrics m = new KafkaStreamsMetrics(streams);
        m.bindTo(registry());
        return m;
    }
}
