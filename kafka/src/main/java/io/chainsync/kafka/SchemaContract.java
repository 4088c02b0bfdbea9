package io.chainsync.kafka;

import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobStatus;
import io.chainsync.avro.SyncJob;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * The public job contract (docs/jobs.md): the subjects other programs produce and read,
 * {@code chainsync.jobs-key/-value} and {@code chainsync.status-key/-value} (TopicNameStrategy;
 * under a topic prefix P, {@code Pchainsync.jobs-key}, ...),
 * registered when a service starts, each with the compatibility rule BACKWARD, so that a new
 * version of a schema is refused unless readers of the new one can read records written with the
 * old ones. Other topics are the pipeline's own, plain Avro ({@link PlainAvroSerdes}): no subject.
 */
public final class SchemaContract {

    /** Registry group of the subjects (the serdes' default). */
    public static final String GROUP = "default";
    public static final String COMPATIBILITY = "BACKWARD";

    private SchemaContract() {
    }

    /** Subject name → schema, for every public subject of the unprefixed topics. */
    public static Map<String, Schema> subjects() {
        return subjects(PipelineNames.DEFAULT);
    }

    /** Subject name → schema, for every public subject of the given topics (TopicNameStrategy). */
    public static Map<String, Schema> subjects(PipelineNames names) {
        Map<String, Schema> m = new LinkedHashMap<>();
        m.put(names.jobs() + "-key", JobKey.getClassSchema());
        m.put(names.jobs() + "-value", SyncJob.getClassSchema());
        m.put(names.status() + "-key", JobKey.getClassSchema());
        m.put(names.status() + "-value", JobStatus.getClassSchema());
        return m;
    }

    /**
     * Registers the public schemas (the same content again changes nothing) and sets their
     * compatibility rule.
     *
     * @throws IOException when the registry cannot be reached or refuses
     */
    public static void register(ClientConfig config, Duration timeout) throws IOException, InterruptedException {
        RegistryHttp http = RegistryHttp.of(config, timeout);
        for (Map.Entry<String, Schema> subject : subjects(config.names()).entrySet()) {
            String id = URLEncoder.encode(subject.getKey(), StandardCharsets.UTF_8);
            String artifacts = "/groups/" + GROUP + "/artifacts";
            send(http, http.request(artifacts + "?ifExists=RETURN_OR_UPDATE")
                    .header("Content-Type", "application/json")
                    .header("X-Registry-ArtifactId", subject.getKey())
                    .header("X-Registry-ArtifactType", "AVRO")
                    .POST(HttpRequest.BodyPublishers.ofString(subject.getValue().toString())).build(), subject.getKey());
            String rule = "{\"type\":\"COMPATIBILITY\",\"config\":\"" + COMPATIBILITY + "\"}";
            HttpResponse<String> created = http.client().send(http.request(artifacts + "/" + id + "/rules")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(rule)).build(), HttpResponse.BodyHandlers.ofString());
            if (created.statusCode() == 409) {
                send(http, http.request(artifacts + "/" + id + "/rules/COMPATIBILITY")
                        .header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString(rule)).build(), subject.getKey());
            } else if (created.statusCode() / 100 != 2) {
                throw new IOException("registry " + config.registryUrl() + " refused the compatibility rule of "
                        + subject.getKey() + ": HTTP " + created.statusCode() + " " + created.body());
            }
        }
    }

    /**
     * {@link #register} for a starting service: a registry that is away or refuses is a warning
     * (the serdes register on first use anyway), never a reason not to start.
     */
    public static void registerOrWarn(ClientConfig config) {
        if (!config.hasRegistry()) {
            return; // a private pipeline: no contract to register
        }
        try {
            register(config, Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger("io.chainsync.ops").atWarn()
                    .setMessage("cannot register the public schemas yet").addKeyValue("registry", config.registryUrl())
                    .addKeyValue("reason", Failures.reason(e)).log();
        }
    }

    private static void send(RegistryHttp http, HttpRequest request, String subject) throws IOException, InterruptedException {
        HttpResponse<String> r = http.client().send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("registry refused " + subject + ": HTTP " + r.statusCode() + " " + r.body());
        }
    }
}
