package io.chainsync.kafka;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.TopicExistsException;

/** Creates the pipeline's topics when missing (idempotent). */
public final class TopicSetup {

    /** Partitions of the pipeline's topics unless told otherwise (a string: an option's default). */
    public static final String DEFAULT_PARTITIONS = "4";

    /** Extent and plan records of fragmented chunks can be large. */
    public static final int MAX_MESSAGE_BYTES = 16 << 20;
    /**
     * Most extents of one context in one chunk (the scanner cuts chunks so): a chunk then has at
     * most twice as many decisions and cluster runs, and each of its records (extents, the
     * planner's stores, the COPY plan) stays below {@link #MAX_MESSAGE_BYTES} whatever the layer
     * holds ({@code ChunkRecordBoundsTest} encodes the worst case).
     */
    public static final int MAX_CHUNK_EXTENTS = 1 << 16;

    private TopicSetup() {
    }

    /**
     * Creates the topics of {@link ClientConfig#names()} that are missing.
     *
     * @param partitions the partition count of topics created here; 0 or less: the broker's
     *     {@code num.partitions}
     * @param replication the replication factor of topics created here; 0 or less: the broker's
     *     {@code default.replication.factor}
     * @return the topics created here, none of which existed before
     */
    public static Set<String> ensure(ClientConfig config, int partitions, short replication) {
        return ensure(config, partitions, partitions, replication);
    }

    /**
     * As {@link #ensure(ClientConfig, int, short)}, with {@code plansPartitions} partitions for the plans topic:
     * the copiers share its partitions, and it is the only topic the planner writes but does not read (its
     * count is not the planner's task count).
     */
    public static Set<String> ensure(ClientConfig config, int partitions, int plansPartitions, short replication) {
        try (Admin admin = Admin.create(config.adminProperties())) {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> missing = new ArrayList<>();
            PipelineNames names = config.names();
            for (String name : names.topics()) {
                if (existing.contains(name)) {
                    continue;
                }
                // dead letters carry a record of the maximum size plus headers
                int maxBytes = names.deadLetters().equals(name) ? MAX_MESSAGE_BYTES + (64 << 10) : MAX_MESSAGE_BYTES;
                Map<String, String> configs = names.status().equals(name)
                        ? Map.of("cleanup.policy", "compact", "max.message.bytes", String.valueOf(maxBytes))
                        : Map.of("max.message.bytes", String.valueOf(maxBytes));
                int count = names.plans().equals(name) ? plansPartitions : partitions;
                NewTopic topic = new NewTopic(name, count > 0 ? Optional.of(count) : Optional.empty(),
                        replication > 0 ? Optional.of(replication) : Optional.empty());
                missing.add(topic.configs(configs));
            }
            Set<String> created = new HashSet<>();
            if (!missing.isEmpty()) {
                try {
                    admin.createTopics(missing).all().get();
                    missing.forEach(t -> created.add(t.name()));
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            return created;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuthenticationException) {
                // SASL (wrong user or password) or TLS (untrusted certificate): retrying cannot help
                throw new IllegalStateException("cannot authenticate with Kafka at " + config.bootstrapServers()
                        + " (see --kafka-config): " + e.getCause().getMessage(), e.getCause());
            }
            throw new IllegalStateException("cannot create the pipeline's topics at " + config.bootstrapServers()
                    + ": " + e.getCause().getMessage(), e.getCause());
        }
    }
}
