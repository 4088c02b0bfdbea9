package io.chainsync.qcow2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Qcow2LayoutTest {

    @Test
    void l1AndL2Geometry() {
        assertEquals(8192, Qcow2Layout.l2Entries(16));
        assertEquals(64, Qcow2Layout.l2Entries(9));
        assertEquals(262144, Qcow2Layout.l2Entries(21));
        // 64 KiB clusters: one L1 entry maps 512 MiB
        assertEquals(1, Qcow2Layout.sizeToL1(512L << 20, 16));
        assertEquals(2, Qcow2Layout.sizeToL1((512L << 20) + 512, 16));
        assertEquals(8192, Qcow2Layout.sizeToL1(4L << 40, 16));
        assertEquals(38, Qcow2Layout.sizeToClusters(65536L * 37 + 512, 16));
        long off = (3L << 29) + (5L << 16) + 7; // L1 index 3, L2 index 5 with 64 KiB clusters
        assertEquals(3, Qcow2Layout.offsetToL1Index(off, 16));
        assertEquals(5, Qcow2Layout.offsetToL2Index(off, 16));
        assertEquals(3, Qcow2Layout.clusterToL1Index(off >>> 16, 16));
        assertEquals(5, Qcow2Layout.clusterToL2Index(off >>> 16, 16));
        assertEquals(32768, Qcow2Layout.refcountBlockEntries(16, 4));
        assertEquals(256, Qcow2Layout.refcountBlockEntries(9, 4));
        assertEquals(4096, Qcow2Layout.refcountBlockEntries(9, 0));
    }

    @Test
    void refcountSizingSmallImage() {
        // header + 3 data + 1 L2 + 1 L1 = 6 clusters -> 1 block + 1 table cluster = 8 clusters
        Qcow2Layout.RefcountSizing rs = Qcow2Layout.refcountSizing(6, 16);
        assertEquals(1, rs.refcountBlocks());
        assertEquals(1, rs.refcountTableClusters());
        assertEquals(8, rs.totalClusters());
        Qcow2Layout.RefcountSizing empty = Qcow2Layout.refcountSizing(0, 9);
        assertEquals(1, empty.refcountBlocks());
        assertEquals(1, empty.refcountTableClusters());
        assertEquals(2, empty.totalClusters());
    }

    @Test
    void refcountSizingSelfReferenceCrossesBlockBoundary() {
        // 512 B clusters: 256 refcounts per block. 254 other clusters + 1 block + 1 table = 256: fits.
        Qcow2Layout.RefcountSizing fits = Qcow2Layout.refcountSizing(254, 9);
        assertEquals(1, fits.refcountBlocks());
        assertEquals(256, fits.totalClusters());
        // 255 other clusters: the block and table themselves push the total to 257: needs a second block
        Qcow2Layout.RefcountSizing spills = Qcow2Layout.refcountSizing(255, 9);
        assertEquals(2, spills.refcountBlocks());
        assertEquals(1, spills.refcountTableClusters());
        assertEquals(258, spills.totalClusters());
        // 64 table entries fit in one 512 B table cluster; 64 blocks cover 16384 clusters
        Qcow2Layout.RefcountSizing lastOneTable = Qcow2Layout.refcountSizing(16384 - 65, 9);
        assertEquals(64, lastOneTable.refcountBlocks());
        assertEquals(1, lastOneTable.refcountTableClusters());
        Qcow2Layout.RefcountSizing twoTables = Qcow2Layout.refcountSizing(16384 - 64, 9);
        assertEquals(65, twoTables.refcountBlocks());
        assertEquals(2, twoTables.refcountTableClusters());
        assertEquals(16384 - 64 + 65 + 2, twoTables.totalClusters());
    }

    @ParameterizedTest
    @ValueSource(ints = {9, 10, 12, 16})
    void refcountSizingIsTheLeastSufficientLayout(int clusterBits) {
        long entries = Qcow2Layout.refcountBlockEntries(clusterBits, 4);
        long perTableCluster = (1L << clusterBits) / 8;
        for (long other = 0; other < 3 * entries * 2 + 50; other += (other < 5 * entries ? 1 : 7)) {
            Qcow2Layout.RefcountSizing rs = Qcow2Layout.refcountSizing(other, clusterBits);
            long total = other + rs.refcountBlocks() + rs.refcountTableClusters();
            assertEquals(total, rs.totalClusters());
            // sufficient: blocks cover every cluster, table holds every block
            assertTrue(rs.refcountBlocks() * entries >= total, "blocks cover all at " + other);
            assertTrue(rs.refcountTableClusters() * perTableCluster >= rs.refcountBlocks(), "table at " + other);
            // least: one block fewer would not cover the image even without growing the table
            long fewer = rs.refcountBlocks() - 1;
            assertTrue(fewer * entries < other + fewer + rs.refcountTableClusters() || fewer < 1,
                    "not minimal at " + other);
        }
    }

    @Test
    void validation() {
        assertThrows(IllegalArgumentException.class, () -> Qcow2Layout.checkClusterBits(8));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Layout.checkClusterBits(22));
        Qcow2Layout.checkClusterBits(9);
        Qcow2Layout.checkClusterBits(21);
        assertThrows(IllegalArgumentException.class, () -> Qcow2Layout.checkVirtualSize(0, 16));
        assertThrows(IllegalArgumentException.class, () -> Qcow2Layout.checkVirtualSize(-512, 16));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Qcow2Layout.checkVirtualSize(1000, 16));
        assertTrue(e.getMessage().contains("multiple of 512"), e.getMessage());
        Qcow2Layout.checkVirtualSize(512, 16);
        // qemu's 32 MiB L1 limit: 512 B clusters map at most 128 GiB
        Qcow2Layout.checkVirtualSize(128L << 30, 9);
        e = assertThrows(IllegalArgumentException.class, () -> Qcow2Layout.checkVirtualSize((128L << 30) + 512, 9));
        assertTrue(e.getMessage().contains("L1"), e.getMessage());
        Qcow2Layout.checkVirtualSize(4L << 40, 16);
    }
}
