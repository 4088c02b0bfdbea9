package io.chainsync.copier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.chainsync.core.BlockDigest;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A span's buffer with only the blocks that hold data defined ({@link LayerCheck.Blocks}). */
class LayerCheckBlocksTest {

    private static final int B = BlockDigest.BLOCK_SIZE;

    @Test
    void marksEveryBlockARangeOverlaps() {
        assertEquals(0L, LayerCheck.Blocks.mark(0, 7, 7));
        assertEquals(0b1L, LayerCheck.Blocks.mark(0, 0, 1));
        assertEquals(0b1L, LayerCheck.Blocks.mark(0, 0, B));
        assertEquals(0b11L, LayerCheck.Blocks.mark(0, B - 1, B + 1));
        assertEquals(0b1100L, LayerCheck.Blocks.mark(0, 2 * B, 4 * B));
        assertEquals(0xFFFF_FFFFL, LayerCheck.Blocks.mark(0, 0, LayerCheck.SPAN));
        assertEquals(0b1001L, LayerCheck.Blocks.mark(0b1000L, 0, 1));
    }

    @Test
    void zeroesAGapOnlyWhereItSharesABlockWithData() {
        byte[] b = new byte[LayerCheck.SPAN];
        Arrays.fill(b, (byte) 0x55);
        LayerCheck.Blocks.zeroGap(ByteBuffer.wrap(b), 100, 3 * B + 10);
        assertEquals(0x55, b[99]);
        assertEquals(0, b[100]);
        assertEquals(0, b[B - 1]);
        assertEquals(0x55, b[B]); // blocks 1 and 2 lie wholly in the gap: left alone
        assertEquals(0x55, b[3 * B - 1]);
        assertEquals(0, b[3 * B]);
        assertEquals(0, b[3 * B + 9]);
        assertEquals(0x55, b[3 * B + 10]);
        LayerCheck.Blocks.zeroGap(ByteBuffer.wrap(b), 5 * B + 10, 5 * B + 20); // inside one block
        assertEquals(0x55, b[5 * B + 9]);
        assertEquals(0, b[5 * B + 10]);
        assertEquals(0, b[5 * B + 19]);
        assertEquals(0x55, b[5 * B + 20]);
    }

    /** Fills a garbage buffer as the verifier does and reads it back with unmarked blocks as zeroes. */
    @Test
    void aSpanReadsAsItsDataWithZeroesElsewhere() {
        Random random = new Random(42);
        for (int round = 0; round < 300; round++) {
            int length = random.nextBoolean() ? LayerCheck.SPAN : 1 + random.nextInt(LayerCheck.SPAN);
            byte[] expected = new byte[length];
            byte[] buf = new byte[LayerCheck.SPAN];
            Arrays.fill(buf, (byte) 0x55);
            ByteBuffer buffer = ByteBuffer.wrap(buf);
            long blocks = 0;
            int filled = 0;
            int at = 0;
            while (true) {
                int unit = random.nextBoolean() ? 512 : 4096;
                int from = at + unit * random.nextInt(64);
                int to = Math.min(length, from + unit * (1 + random.nextInt(64)));
                if (from >= length) {
                    break;
                }
                for (int i = from; i < to; i++) {
                    expected[i] = (byte) (1 + random.nextInt(255));
                }
                LayerCheck.Blocks.zeroGap(buffer, filled, from);
                System.arraycopy(expected, from, buf, from, to - from);
                blocks = LayerCheck.Blocks.mark(blocks, from, to);
                filled = to;
                at = to;
            }
            LayerCheck.Blocks.zeroGap(buffer, filled, length);
            byte[] view = new byte[length];
            for (int i = 0; i < length; i++) {
                view[i] = LayerCheck.Blocks.has(blocks, i) ? buf[i] : 0;
            }
            assertArrayEquals(expected, view, "round " + round);
            for (int blk = 0; blk * B < length; blk++) {
                int end = Math.min(length, (blk + 1) * B);
                boolean hasData = false;
                for (int i = blk * B; i < end; i++) {
                    hasData |= expected[i] != 0;
                }
                if (hasData) {
                    assertEquals(true, LayerCheck.Blocks.has(blocks, blk * B), "block " + blk + " holds data");
                }
            }
        }
    }
}
