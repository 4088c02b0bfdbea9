package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The JSON that qemu-img and nbdinfo print, read into the testkit's records (no tool is run). */
class ToolOutputTest {

    private static Exec.Result printed(int exitCode, String stdout) {
        return new Exec.Result(List.of("tool"), exitCode, stdout, "");
    }

    @Test
    void qemuImgMap() {
        String out = "[{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false},\n"
                + "{ \"start\": 65536, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 327680},\n"
                + "{ \"start\": 131072, \"length\": 512, \"depth\": 1, \"zero\": false, \"data\": true, \"compressed\": false}]";
        List<MapEntry> l = MapEntry.listFromJson(printed(0, out).json());
        assertEquals(List.of(
                new MapEntry(0, 65536, 0, false, true, false, null),
                new MapEntry(65536, 65536, 0, true, false, true, 327680L),
                new MapEntry(131072, 512, 1, true, false, true, null)), l);
        assertEquals(Range.ofLength(65536, 65536), l.get(1).range());
        assertThrows(IllegalStateException.class, () -> MapEntry.listFromJson(printed(0, "{}").json()));
        assertThrows(IllegalArgumentException.class,
                () -> MapEntry.listFromJson(printed(0, "[{\"length\": 1, \"depth\": 0}]").json()));
    }

    @Test
    void qemuImgInfo() {
        String out = "{\n    \"virtual-size\": 1048576,\n    \"filename\": \"/tmp/x.qcow2\",\n"
                + "    \"cluster-size\": 65536,\n    \"format\": \"qcow2\",\n"
                + "    \"backing-filename\": \"b \\\"q\\\"\\\\\\u0041\\n.raw\",\n"
                + "    \"backing-filename-format\": \"raw\",\n    \"actual-size\": 200704,\n"
                + "    \"format-specific\": {\"type\": \"qcow2\", \"data\": {\"compat\": \"1.1\", \"lazy-refcounts\": false,"
                + " \"refcount-bits\": 16, \"corrupt\": false, \"extended-l2\": true, \"bitmaps\": [], \"x\": null}},\n"
                + "    \"dirty-flag\": false\n}";
        ImageInfo info = ImageInfo.fromJson(printed(0, out).json());
        assertEquals("qcow2", info.format());
        assertEquals(1048576, info.virtualSize());
        assertEquals(65536L, info.clusterSize());
        assertEquals("b \"q\"\\A\n.raw", info.backingFile());
        assertEquals("raw", info.backingFormat());
        assertTrue(info.extendedL2());
        assertEquals(16, info.json().at("/format-specific/data/refcount-bits").intValue());

        ImageInfo raw = ImageInfo.fromJson(printed(0,
                "{\"virtual-size\": 1000448, \"filename\": \"b.raw\", \"format\": \"raw\", \"actual-size\": 4096}").json());
        assertEquals("raw", raw.format());
        assertEquals(1000448, raw.virtualSize());
        assertNull(raw.clusterSize());
        assertNull(raw.backingFile());
        assertNull(raw.backingFormat());
        assertFalse(raw.extendedL2());
        assertThrows(IllegalArgumentException.class, () -> ImageInfo.fromJson(printed(0, "{\"format\": \"raw\"}").json()));
    }

    @Test
    void qemuImgCheck() {
        CheckResult clean = CheckResult.of(printed(0, "{\n    \"image-end-offset\": 262144,\n"
                + "    \"total-clusters\": 16,\n    \"check-errors\": 0,\n    \"filename\": \"/tmp/x.qcow2\",\n"
                + "    \"format\": \"qcow2\"\n}\n"));
        assertTrue(clean.isClean(), clean.describe());

        CheckResult corrupt = CheckResult.of(printed(2, "{\"check-errors\": 0, \"corruptions\": 3, \"leaks\": 1}"));
        assertFalse(corrupt.isClean());
        assertTrue(corrupt.describe().startsWith("exit 2, corruptions=3, leaks=1, check-errors=0"), corrupt.describe());

        CheckResult leaksOnly = CheckResult.of(printed(0, "{\"check-errors\": 0, \"leaks\": 1}"));
        assertFalse(leaksOnly.isClean(), leaksOnly.describe());

        CheckResult noReport = CheckResult.of(new Exec.Result(List.of("qemu-img"), 1, "", "qemu-img: Could not open"));
        assertFalse(noReport.isClean());
        assertEquals(0, noReport.json().size());
        assertTrue(noReport.describe().contains("Could not open"), noReport.describe());

        CheckResult truncated = CheckResult.of(printed(0, "{\"check-errors\": 0, \"leaks"));
        assertEquals(0, truncated.json().size());
    }

    @Test
    void nbdinfoExportAndMap() {
        String doc = "{\n\"protocol\": \"newstyle-fixed\",\n\"TLS\": false,\n\"exports\": [\n\t{\n\t\"export-name\": \"\",\n"
                + "\t\"contexts\": [\n\t\t\"base:allocation\",\n\t\t\"qemu:allocation-depth\"\n\t],\n"
                + "\t\"is_read_only\": true,\n\t\"export-size\": 262144,\n\t\"export-size-str\": \"256K\"\n\t} ]\n}";
        var export = NbdInfo.firstExport(printed(0, doc).json());
        assertEquals(262144, export.get("export-size").asLong());
        assertEquals(List.of("base:allocation", "qemu:allocation-depth"), NbdInfo.contexts(export));
        assertEquals(List.of(), NbdInfo.contexts(NbdInfo.firstExport(printed(0, "{\"exports\": [{}]}").json())));
        assertThrows(IllegalArgumentException.class, () -> NbdInfo.firstExport(printed(0, "{\"exports\": []}").json()));

        String map = "[\n{ \"offset\": 0, \"length\": 65536, \"type\": 3, \"description\": \"hole,zero\"},\n"
                + "{ \"offset\": 65536, \"length\": 131072, \"type\": 0, \"description\": \"data\"},\n"
                + "{ \"offset\": 196608, \"length\": 65536, \"type\": 3, \"description\": \"hole,zero\"}\n]";
        List<NbdInfo.Extent> extents = NbdInfo.Extent.listFromJson(printed(0, map).json());
        assertEquals(new NbdInfo.Extent(65536, 131072, 0, "data"), extents.get(1));
        assertEquals(List.of(3L, 0L, 0L, 3L), NbdInfo.perUnit(extents, 262144, 65536));
        assertThrows(IllegalStateException.class, () -> NbdInfo.Extent.listFromJson(printed(0, "{}").json()));
    }
}
