package io.chainsync.planner;

import io.chainsync.avro.ChunkKey;
import io.chainsync.avro.ChunkPlan;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.streams.processor.StreamPartitioner;

/**
 * Where a plan goes on {@code chainsync.plans}: a layer's chunks in turn over every partition,
 * starting at a partition that depends on the job and the layer (docs/design.md §3, "Scale-out").
 *
 * <p>Each copier works through its partitions one task at a time, so a layer copies as fast as its
 * most loaded partition. Hashing each key on its own gave 32 chunks over 4 partitions loads like
 * 12/9/6/5 (the whole layer waited for the copier with 12); in turn they are 8/8/8/8. The
 * partition depends on the key alone, so every attempt and every redelivery of a task lands on
 * the same partition, in order.
 */
public final class PlanPartitioner implements StreamPartitioner<ChunkKey, ChunkPlan> {

    @Override
    public Optional<Set<Integer>> partitions(String topic, ChunkKey key, ChunkPlan plan, int numPartitions) {
        return Optional.of(Set.of(partition(key, numPartitions)));
    }

    /** The partition of {@code key}'s task among {@code numPartitions}; FINALIZE (chunk -1) comes before chunk 0. */
    public static int partition(ChunkKey key, int numPartitions) {
        int start = Math.floorMod(31 * key.getJob().hashCode() + key.getLayer(), numPartitions);
        return (int) Math.floorMod(start + key.getChunk(), (long) numPartitions);
    }
}
