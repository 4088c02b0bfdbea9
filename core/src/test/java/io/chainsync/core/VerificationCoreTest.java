package io.chainsync.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class VerificationCoreTest {

    private static final long K64 = 65536;

    private static OwnedRanges ranges(long... pairs) {
        OwnedRanges.Builder b = new OwnedRanges.Builder();
        for (int i = 0; i < pairs.length; i += 2) {
            b.add(pairs[i], pairs[i + 1]);
        }
        return b.build();
    }

    @Test
    void ownedRangesOfTheSeedTop() {
        OwnedRanges owned = OwnedRanges.of(List.of(new Decision(0, K64, Action.SKIP),
                new Decision(K64, K64, Action.DATA), new Decision(2 * K64, K64, Action.ZERO),
                new Decision(3 * K64, K64, Action.SKIP)));
        assertEquals(1, owned.count(), "DATA and ZERO neighbours merge");
        assertEquals(-1, owned.firstDifference(ranges(K64, 2 * K64)));
        assertEquals(ranges(K64, 2 * K64).digest(), owned.digest());
    }

    @Test
    void firstDifferenceIsTheFirstByteOnlyOneSetHolds() {
        OwnedRanges a = ranges(K64, 2 * K64);
        assertEquals(2 * K64, a.firstDifference(ranges(K64, K64)), "a dropped zero cluster");
        assertEquals(0, a.firstDifference(ranges(0, 3 * K64)), "an extra cluster in front");
        assertEquals(3 * K64, a.firstDifference(ranges(K64, 2 * K64, 3 * K64, 10)), "an extra range after");
        assertEquals(K64, a.firstDifference(ranges()), "nothing owned");
        assertEquals(-1, ranges().firstDifference(ranges()));
        assertEquals(K64 + 5, ranges(0, K64 + 5, K64 + 6, 10).firstDifference(ranges(0, K64 + 16)));
        assertNotEquals(a.digest(), ranges(K64, K64).digest());
    }

    @Test
    void rangesMustComeInOrder() {
        assertThrows(IllegalArgumentException.class, () -> ranges(K64, 10, 0, 10));
    }

    @Test
    void zeroBlocksHashLikeTheirBytesAndTheTreeDependsOnEveryBlock() {
        ByteBuffer zero = ByteBuffer.allocate(BlockDigest.BLOCK_SIZE);
        assertArrayEquals(BlockDigest.zeroBlock(BlockDigest.BLOCK_SIZE), BlockDigest.ofBlock(zero));
        ByteBuffer data = ByteBuffer.allocate(BlockDigest.BLOCK_SIZE);
        data.put(100, (byte) 1);
        long size = 2L * BlockDigest.BLOCK_SIZE + 512;
        assertEquals(3, BlockDigest.blocks(size));
        assertEquals(512, BlockDigest.blockLength(size, 2));
        BlockDigest one = new BlockDigest(size);
        one.add(BlockDigest.ofBlock(zero));
        one.add(BlockDigest.ofBlock(data));
        one.add(BlockDigest.zeroBlock(512));
        BlockDigest other = new BlockDigest(size);
        other.add(BlockDigest.ofBlock(data));
        other.add(BlockDigest.ofBlock(zero));
        other.add(BlockDigest.zeroBlock(512));
        assertNotEquals(one.root(), other.root());
        assertThrows(IllegalStateException.class, () -> new BlockDigest(size).root(), "incomplete");
    }
}
