package io.chainsync.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.chainsync.avro.ChunkKey;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class PlanPartitionerTest {

    @Test
    void aLayersChunksFillEveryPartitionEvenly() {
        for (int job = 0; job < 50; job++) {
            String id = UUID.nameUUIDFromBytes(new byte[] {(byte) job}).toString();
            for (int partitions : new int[] {1, 2, 3, 4, 12}) {
                int[] load = new int[partitions];
                for (long chunk = 0; chunk < 32; chunk++) {
                    load[PlanPartitioner.partition(new ChunkKey(id, 1, chunk), partitions)]++;
                }
                for (int l : load) {
                    // 32 chunks: no partition holds more than its share rounded up
                    assertEquals(32 / partitions, l, 1, "job " + id + ", " + partitions + " partitions");
                }
            }
        }
    }

    @Test
    void aTaskAlwaysGoesToTheSamePartition() {
        ChunkKey key = new ChunkKey("job-1", 2, 7L);
        int p = PlanPartitioner.partition(key, 4);
        assertEquals(Optional.of(Set.of(p)), new PlanPartitioner().partitions("plans", new ChunkKey("job-1", 2, 7L),
                null, 4));
        // FINALIZE (chunk -1) of the same layer goes just before chunk 0's partition
        assertEquals(Math.floorMod(PlanPartitioner.partition(new ChunkKey("job-1", 2, 0L), 4) - 1, 4),
                PlanPartitioner.partition(new ChunkKey("job-1", 2, ChunkPlanner.LAYER_TASK), 4));
    }
}
