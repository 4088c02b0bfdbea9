package io.chainsync.jobs;

import io.chainsync.kafka.ClientConfig;
import io.chainsync.kafka.PipelineTopics;

import io.chainsync.avro.JobKey;
import io.chainsync.avro.JobStatus;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/** Reads job progress: the latest status of every job, and the copier group's consumer lag. */
public final class StatusReader {

    /** Tasks waiting for copiers: end offsets of chainsync.plans minus the group's committed offsets. */
    public record Lag(long committed, long end) {
        public long pending() {
            return Math.max(0, end - committed);
        }
    }

    private StatusReader() {
    }

    /** The latest status of every job, read from the compacted status topic up to its end. */
    public static Map<String, JobStatus> latest(ClientConfig config, PipelineTopics topics) {
        Map<String, JobStatus> out = new LinkedHashMap<>();
        try (KafkaConsumer<JobKey, JobStatus> consumer = Jobs.statusConsumer(config, topics)) {
            Set<TopicPartition> partitions = consumer.assignment();
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<JobKey, JobStatus> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() == null) {
                        out.remove(r.key().getJob());
                    } else {
                        out.put(r.value().getJob(), r.value());
                    }
                }
            }
        }
        return out;
    }

    /** The copier group's lag on the plans topic. */
    public static Lag copierLag(ClientConfig config, PipelineTopics topics)
            throws InterruptedException, ExecutionException {
        try (Admin admin = Admin.create(config.adminProperties())) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin
                    .listConsumerGroupOffsets(config.names().copierGroup()).partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
            admin.describeTopics(Set.of(topics.plans().name())).allTopicNames().get()
                    .get(topics.plans().name()).partitions()
                    .forEach(p -> request.put(new TopicPartition(topics.plans().name(), p.partition()), OffsetSpec.latest()));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(request).all().get();
            long c = 0;
            long e = 0;
            for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> entry : ends.entrySet()) {
                e += entry.getValue().offset();
                OffsetAndMetadata o = committed.get(entry.getKey());
                c += o == null ? 0 : o.offset();
            }
            return new Lag(c, e);
        }
    }
}
