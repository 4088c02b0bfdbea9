package io.chainsync.kafka;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The names one pipeline uses on a Kafka cluster, so that several pipelines (or other
 * applications) share one cluster without meeting: every topic is {@code TOPIC_PREFIX} + its
 * base name ({@code chainsync.jobs}, ...), every consumer group and the planner's Streams
 * application id {@code GROUP_PREFIX} + its base name ({@code chainsync-copier}, ...). Kafka
 * Streams names the planner's own internal topics after its application id, so they carry the
 * group prefix.
 *
 * @param topicPrefix prepended to every topic name; empty: none
 * @param groupPrefix prepended to every group id and to the planner's application id; empty: none
 */
public record PipelineNames(String topicPrefix, String groupPrefix) {

    public static final String JOBS = "chainsync.jobs";
    public static final String EXTENTS = "chainsync.extents";
    public static final String SCANS = "chainsync.scans";
    public static final String PLANS = "chainsync.plans";
    public static final String RESULTS = "chainsync.results";
    public static final String STATUS = "chainsync.status";
    public static final String DEAD_LETTERS = "chainsync.dead-letters";
    public static final String SCANNER_GROUP = "chainsync-scanner";
    public static final String COPIER_GROUP = "chainsync-copier";
    public static final String PLANNER_APPLICATION = "chainsync-planner";

    /**
     * Characters Kafka allows in a topic name; the group prefix too, since the application id
     * begins the names of the planner's internal topics.
     */
    private static final Pattern LEGAL = Pattern.compile("[A-Za-z0-9._-]*");
    /** Kafka's longest topic name, less the longest name and suffix Streams adds to the application id. */
    private static final int MAX_PREFIX = 100;

    /** The unprefixed names (after {@link #LEGAL}: static fields are set in order). */
    public static final PipelineNames DEFAULT = new PipelineNames("", "");

    public PipelineNames {
        topicPrefix = check("topic prefix", topicPrefix);
        groupPrefix = check("group prefix", groupPrefix);
    }

    private static String check(String what, String prefix) {
        String p = prefix == null ? "" : prefix;
        if (!LEGAL.matcher(p).matches()) {
            throw new IllegalArgumentException(what + " '" + p + "' may hold only letters, digits, '.', '_' and '-'");
        }
        if (p.length() > MAX_PREFIX) {
            throw new IllegalArgumentException(what + " is longer than " + MAX_PREFIX + " characters: " + p);
        }
        return p;
    }

    public String topic(String base) {
        return topicPrefix + base;
    }

    public String group(String base) {
        return groupPrefix + base;
    }

    public String jobs() {
        return topic(JOBS);
    }

    public String status() {
        return topic(STATUS);
    }

    public String plans() {
        return topic(PLANS);
    }

    public String deadLetters() {
        return topic(DEAD_LETTERS);
    }

    /** Every topic the pipeline creates: the six of {@link PipelineTopics} and the dead letters. */
    public List<String> topics() {
        return List.of(jobs(), topic(EXTENTS), topic(SCANS), plans(), topic(RESULTS), status(), deadLetters());
    }

    public String scannerGroup() {
        return group(SCANNER_GROUP);
    }

    public String copierGroup() {
        return group(COPIER_GROUP);
    }

    /** The planner's Kafka Streams application id: its consumer group and its internal topics' prefix. */
    public String plannerApplicationId() {
        return group(PLANNER_APPLICATION);
    }
}
