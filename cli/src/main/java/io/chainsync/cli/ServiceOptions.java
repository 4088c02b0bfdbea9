package io.chainsync.cli;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.OpsServer;
import io.chainsync.kafka.SchemaContract;

import java.io.IOException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options every long-running service has: where its metrics are served, how topics are created. */
final class ServiceOptions {

    /** The operator's log: one line at start, WARN while something is away (docs/operations.md). */
    static final Logger OPS = LoggerFactory.getLogger("io.chainsync.ops");

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "serve /metrics (Prometheus), /health/live and /health/ready on this port (0: any free port;"
                    + " default: not served)")
    Integer metricsPort;

    @Option(names = "--metrics-host", paramLabel = "ADDRESS", defaultValue = "0.0.0.0",
            description = "address the metrics endpoint listens on (default ${DEFAULT-VALUE})")
    String metricsHost;

    @Mixin
    TopicOptions topics;

    void ensureTopics(ClientConfig config) {
        topics.ensure(config);
        SchemaContract.registerOrWarn(config);
    }

    /** Starts the endpoint when {@code --metrics-port} was given; null otherwise. */
    OpsServer startEndpoint(BooleanSupplier ready) throws IOException {
        if (metricsPort == null) {
            return null;
        }
        return OpsServer.start(metricsHost, metricsPort, ready);
    }

    /** The one INFO line a service logs when it starts. */
    static void logStart(String role, String group, String topics, ClientConfig config, OpsServer endpoint,
                         String extra) {
        OPS.atInfo().setMessage("chainsync " + role + " started").addKeyValue("role", role).addKeyValue("group", group)
                .addKeyValue("topics", topics).addKeyValue("bootstrap", config.bootstrapServers())
                .addKeyValue("registry", config.registryUrl())
                .addKeyValue("metrics", endpoint == null ? "off" : "http://0.0.0.0:" + endpoint.port() + "/metrics")
                .addKeyValue("more", extra).log();
    }
}
