package io.chainsync.planner;

import io.chainsync.core.ClusterSizes;

import io.chainsync.avro.ChunkContexts;
import io.chainsync.avro.ChunkDecided;
import io.chainsync.avro.ChunkExtents;
import io.chainsync.avro.ChunkStats;
import io.chainsync.avro.DecisionMode;
import io.chainsync.core.Action;
import io.chainsync.core.ClusterMap;
import io.chainsync.core.Decision;
import io.chainsync.core.DecisionTable;
import io.chainsync.core.Extent;
import io.chainsync.core.LayerDecisions;
import io.chainsync.core.MetaContexts;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * One chunk's decisions (docs/design.md §1) from the extents of its contexts, with what the layer's
 * layout needs: the chunk's alignment and its DATA cluster count for every qcow2 cluster size.
 *
 * <p>Pure and total: malformed input (a context not tiling the chunk, contexts disagreeing on the
 * chunk's range or mode) gives a {@link ChunkDecided} with {@code error} set, never an exception,
 * so one bad record cannot kill a stream thread.
 */
public final class ChunkDecider {

    /** Entries of the per-cluster-size arrays: cluster_bits 9 .. 21. */

    private ChunkDecider() {
    }

    /** The empty aggregate of a chunk's contexts. */
    public static ChunkContexts emptyContexts() {
        return new ChunkContexts(new ArrayList<>(), false);
    }

    /**
     * Adds one context's record to a chunk's aggregate: the latest record per context wins; a
     * record equal to the stored one (a redelivery) leaves the aggregate unchanged, with
     * {@code changed == false}. Parts are kept sorted by context name (deterministic bytes). A
     * record of a newer attempt of the job (a retry) starts the chunk afresh, so that contexts of
     * two attempts are never joined; one of an older attempt changes nothing.
     */
    public static ChunkContexts add(ChunkContexts aggregate, ChunkExtents part) {
        int attempt = aggregate.getParts().isEmpty() ? part.getAttempt() : aggregate.getParts().get(0).getAttempt();
        if (part.getAttempt() < attempt) {
            return new ChunkContexts(aggregate.getParts(), false);
        }
        List<ChunkExtents> parts = part.getAttempt() > attempt ? new ArrayList<>() : new ArrayList<>(aggregate.getParts());
        for (int i = 0; i < parts.size(); i++) {
            if (parts.get(i).getContext().equals(part.getContext())) {
                if (parts.get(i).equals(part)) {
                    return new ChunkContexts(parts, false);
                }
                parts.set(i, part);
                return new ChunkContexts(parts, true);
            }
        }
        parts.add(part);
        parts.sort(Comparator.comparing(ChunkExtents::getContext));
        return new ChunkContexts(parts, true);
    }

    /** Whether every context the chunk's decision needs (per its latest records) is present. */
    public static boolean complete(ChunkContexts aggregate) {
        if (aggregate == null || aggregate.getParts().isEmpty()) {
            return false;
        }
        for (String needed : required(aggregate)) {
            if (find(aggregate, needed) == null) {
                return false;
            }
        }
        return true;
    }

    /** The contexts the decision needs: the union of what the chunk's records ask for. */
    private static List<String> required(ChunkContexts aggregate) {
        List<String> out = new ArrayList<>();
        for (ChunkExtents p : aggregate.getParts()) {
            for (String c : p.getContexts()) {
                if (!out.contains(c)) {
                    out.add(c);
                }
            }
        }
        return out;
    }

    private static ChunkExtents find(ChunkContexts aggregate, String context) {
        for (ChunkExtents p : aggregate.getParts()) {
            if (p.getContext().equals(context)) {
                return p;
            }
        }
        return null;
    }

    /** Decides a complete chunk; see the class comment for malformed input. */
    public static ChunkDecided decide(ChunkContexts aggregate) {
        ChunkExtents first = aggregate.getParts().get(0);
        try {
            return decideOrThrow(aggregate);
        } catch (RuntimeException e) {
            return failed(first, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    private static ChunkDecided decideOrThrow(ChunkContexts aggregate) {
        ChunkExtents first = aggregate.getParts().get(0);
        long start = first.getStart();
        long end = first.getEnd();
        DecisionMode mode = first.getMode();
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("bad chunk range [" + start + ", " + end + ")");
        }
        for (ChunkExtents p : aggregate.getParts()) {
            if (p.getStart() != start || p.getEnd() != end) {
                throw new IllegalArgumentException("context " + p.getContext() + " covers [" + p.getStart() + ", "
                        + p.getEnd() + ") but " + first.getContext() + " covers [" + start + ", " + end + ")");
            }
            if (p.getMode() != mode) {
                throw new IllegalArgumentException("contexts disagree on the mode: " + p.getMode() + " and " + mode);
            }
        }
        ChunkExtents base = find(aggregate, MetaContexts.BASE_ALLOCATION);
        if (base == null) {
            throw new IllegalArgumentException("the chunk has no " + MetaContexts.BASE_ALLOCATION + " extents");
        }
        List<Extent> baseExtents = extents(base);
        List<Extent> secondExtents = null;
        if (mode(mode).joinsSecondContext()) {
            ChunkExtents second = null;
            for (String c : required(aggregate)) {
                if (!c.equals(MetaContexts.BASE_ALLOCATION)) {
                    second = find(aggregate, c);
                }
            }
            if (second == null) {
                throw new IllegalArgumentException("mode " + mode + " needs a second context besides "
                        + MetaContexts.BASE_ALLOCATION);
            }
            secondExtents = extents(second);
        }
        List<Decision> decisions = LayerDecisions.decide(mode(mode), start, end, baseExtents, secondExtents);
        ClusterMap.Alignment alignment = ClusterMap.alignment(decisions, mode(mode).exactOwnership());
        long[] clusters = new long[ClusterSizes.COUNT];
        long[] bytes = new long[ClusterSizes.COUNT];
        ClusterMap.dataClustersByBits(decisions, alignment.bits(), clusters, bytes);
        long[] offsets = new long[decisions.size()];
        byte[] actions = new byte[decisions.size()];
        long dataBytes = 0;
        for (int i = 0; i < offsets.length; i++) {
            Decision d = decisions.get(i);
            offsets[i] = d.offset();
            actions[i] = d.action().code();
            if (d.action() == Action.DATA) {
                dataBytes += d.length();
            }
        }
        return ChunkDecided.newBuilder()
                .setJob(first.getJob()).setLayer(first.getLayer()).setChunk(first.getChunk())
                .setStart(start).setEnd(end)
                .setOffsets(boxed(offsets)).setActions(ByteBuffer.wrap(actions))
                .setAlignmentBits(alignment.bits()).setAlignmentOffset(alignment.offset())
                .setDataClustersByBits(boxed(clusters)).setDataBytes(dataBytes)
                .setDataBytesByBits(boxed(bytes))
                .setError(null)
                .setAttempt(first.getAttempt())
                .build();
    }

    private static ChunkDecided failed(ChunkExtents first, String error) {
        long[] none = new long[ClusterSizes.COUNT];
        Arrays.fill(none, -1);
        return ChunkDecided.newBuilder()
                .setJob(first.getJob()).setLayer(first.getLayer()).setChunk(first.getChunk())
                .setStart(first.getStart()).setEnd(first.getEnd())
                .setOffsets(List.of()).setActions(ByteBuffer.allocate(0))
                .setAlignmentBits(-1).setAlignmentOffset(-1)
                .setDataClustersByBits(boxed(none)).setDataBytes(0).setDataBytesByBits(boxed(none))
                .setError("chunk " + first.getChunk() + " of layer " + first.getLayer() + " of job " + first.getJob()
                        + ": " + error)
                .setAttempt(first.getAttempt())
                .build();
    }

    /** A record's runs as extents from its start; rejects runs that do not tile [start, end) exactly. */
    static List<Extent> extents(ChunkExtents part) {
        List<Long> lengths = part.getLengths();
        List<Integer> flags = part.getFlags();
        if (lengths.size() != flags.size()) {
            throw new IllegalArgumentException("context " + part.getContext() + " has " + lengths.size()
                    + " lengths but " + flags.size() + " flags");
        }
        List<Extent> out = new ArrayList<>(lengths.size());
        long pos = part.getStart();
        for (int i = 0; i < lengths.size(); i++) {
            long length = lengths.get(i);
            if (length <= 0) {
                throw new IllegalArgumentException("context " + part.getContext() + ": run " + i + " at offset " + pos
                        + " has length " + length);
            }
            out.add(new Extent(pos, length, flags.get(i)));
            pos += length;
        }
        if (pos != part.getEnd()) {
            throw new IllegalArgumentException("context " + part.getContext() + " covers [" + part.getStart() + ", "
                    + pos + ") instead of [" + part.getStart() + ", " + part.getEnd() + ")");
        }
        return out;
    }

    /** The decisions a {@link ChunkDecided} carries. */
    public static List<Decision> decisions(ChunkDecided decided) {
        List<Long> offsets = decided.getOffsets();
        ByteBuffer actions = decided.getActions().duplicate();
        List<Decision> out = new ArrayList<>(offsets.size());
        for (int i = 0; i < offsets.size(); i++) {
            long offset = offsets.get(i);
            long next = i + 1 < offsets.size() ? offsets.get(i + 1) : decided.getEnd();
            out.add(new Decision(offset, next - offset, Action.ofCode(actions.get(actions.position() + i))));
        }
        return out;
    }

    /** What the layer's layout needs of a decided chunk. */
    public static ChunkStats stats(ChunkDecided decided) {
        return ChunkStats.newBuilder()
                .setChunk(decided.getChunk())
                .setAlignmentBits(decided.getAlignmentBits())
                .setAlignmentOffset(decided.getAlignmentOffset())
                .setDataClustersByBits(decided.getDataClustersByBits())
                .setError(decided.getError())
                .setStart(decided.getStart())
                .setEnd(decided.getEnd())
                .setDataBytesByBits(decided.getDataBytesByBits())
                .setAttempt(decided.getAttempt())
                .build();
    }

    public static DecisionTable.Mode mode(DecisionMode mode) {
        return DecisionTable.Mode.valueOf(Objects.requireNonNull(mode, "mode").name());
    }

    static List<Long> boxed(long[] values) {
        List<Long> out = new ArrayList<>(values.length);
        for (long v : values) {
            out.add(v);
        }
        return out;
    }
}
