package io.chainsync.kafka;

import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * Client settings given with a prefix in {@code --kafka-config} ({@code producer.}, {@code consumer.},
 * {@code admin.}, {@code streams.}): they win over the code's defaults for that kind of client,
 * except the settings the pipeline's correctness depends on, which are refused with the reason.
 * Unprefixed settings (security, timeouts) go to every client as before.
 */
public final class ClientOverrides {

    public static final String PRODUCER = "producer.";
    public static final String CONSUMER = "consumer.";
    public static final String ADMIN = "admin.";
    public static final String STREAMS = "streams.";

    /** Settings the pipeline depends on, with why (docs/operations.md, "Configuration"). */
    private static final Map<String, String> PROTECTED = Map.ofEntries(
            Map.entry(PRODUCER + "enable.idempotence", "results and jobs must not be duplicated or reordered"),
            Map.entry(PRODUCER + "acks", "a chunk counts as done only once its result is on every replica"),
            Map.entry(PRODUCER + "key.serializer", "records are Avro (registry or single-object encoding)"),
            Map.entry(PRODUCER + "value.serializer", "records are Avro (registry or single-object encoding)"),
            Map.entry(CONSUMER + "enable.auto.commit", "offsets are committed only after a task is durable"),
            Map.entry(CONSUMER + "isolation.level", "the planner's output is transactional: read_committed only"),
            Map.entry(CONSUMER + "group.id", "the group ids are the services' (use --group-prefix instead)"),
            Map.entry(CONSUMER + "max.poll.records", "one task per poll keeps a busy worker in its group"),
            Map.entry(CONSUMER + "key.deserializer", "the record loop decodes raw bytes itself"),
            Map.entry(CONSUMER + "value.deserializer", "the record loop decodes raw bytes itself"),
            Map.entry(STREAMS + "processing.guarantee", "the planner needs exactly_once_v2"),
            Map.entry(STREAMS + "application.id", "the planner's id (use --group-prefix instead)"),
            Map.entry(STREAMS + "default.deserialization.exception.handler", "unreadable records go to the dead letters"),
            Map.entry(STREAMS + "deserialization.exception.handler", "unreadable records go to the dead letters"));

    private ClientOverrides() {
    }

    /** Refuses every protected setting among {@code settings}, naming each with its reason. */
    public static void check(Map<String, String> settings) {
        Set<String> refused = new TreeSet<>();
        for (String key : settings.keySet()) {
            String why = PROTECTED.get(key);
            if (why != null) {
                refused.add(key + " (" + why + ")");
            }
        }
        if (!refused.isEmpty()) {
            throw new IllegalArgumentException("these client settings cannot be changed: " + String.join(", ", refused));
        }
    }

    /** Whether a setting is meant for one kind of client only. */
    public static boolean prefixed(String key) {
        return key.startsWith(PRODUCER) || key.startsWith(CONSUMER) || key.startsWith(ADMIN) || key.startsWith(STREAMS);
    }

    /** Puts the settings with {@code prefix} (without it) over {@code p}, after the code's defaults. */
    public static Properties apply(Properties p, Map<String, String> settings, String prefix) {
        check(settings);
        settings.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                p.put(k.substring(prefix.length()), v);
            }
        });
        return p;
    }
}
