package io.chainsync.core;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * Decides a layer's byte range from its contexts' extents as they arrive, in guest order: the
 * streaming form of {@link LayerDecisions}. Each context's extents are offered in order; whenever
 * every context covers more of the range, the part covered by all is joined (split at every
 * boundary of either context, as {@link ExtentSweep} does), decided, and handed on as decisions,
 * neighbours of equal action merged. Only extents beyond the slowest context are held, so memory
 * is bounded by what one block-status reply carries, not by the layer. Pure.
 *
 * <pre>
 *  context 0   |--- a ---|------ b ------|--- c ...            offered so far
 *  context 1   |-- x --|---- y ----|                           offered so far
 *  decided     |a,x    |a,y|b,y    |                           (the rest waits for context 1)
 * </pre>
 */
public final class DecisionStream {

    private final Decider decider;
    private final DecisionTable.Mode mode;
    private final long start;
    private final long end;
    private final Consumer<Decision> out;
    private final ArrayDeque<Extent>[] pending;
    private final long[] covered;
    private final int[] flags;
    private long position;
    private long runStart;
    private Action runAction;

    /**
     * @param mode decides how many contexts are joined: two ({@code base:allocation}, then depth
     *     or dirty bitmap) where the mode joins a second context, else one ({@code base:allocation})
     * @param out receives the decisions, in order, tiling {@code [start, end)} once {@link #finish()} returns
     */
    @SuppressWarnings("unchecked")
    public DecisionStream(Decider decider, DecisionTable.Mode mode, long start, long end, Consumer<Decision> out) {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad range [" + start + ", " + end + ")");
        }
        int n = contextCount(mode);
        this.decider = decider;
        this.mode = mode;
        this.start = start;
        this.end = end;
        this.out = out;
        this.pending = new ArrayDeque[n];
        this.covered = new long[n];
        this.flags = new int[n];
        for (int c = 0; c < n; c++) {
            pending[c] = new ArrayDeque<>();
            covered[c] = start;
        }
        this.position = start;
        this.runStart = start;
    }

    /** The number of contexts joined in {@code mode}: context 0 is {@code base:allocation}. */
    public static int contextCount(DecisionTable.Mode mode) {
        return mode.joinsSecondContext() ? 2 : 1;
    }

    /**
     * Offers the next extent of context {@code context}; it must continue that context's extents
     * (the first may begin before the range, the last may pass its end: both are clipped).
     *
     * @throws IllegalArgumentException on a gap or an overlap
     */
    public void offer(int context, Extent extent) {
        long from = Math.max(extent.offset(), start);
        long to = Math.min(extent.end(), end);
        if (to <= from) {
            return;
        }
        if (from != covered[context]) {
            throw new IllegalArgumentException("context " + context + ": extent at " + from + " does not continue "
                    + covered[context]);
        }
        pending[context].add(from == extent.offset() && to == extent.end() ? extent
                : new Extent(from, to - from, extent.flags()));
        covered[context] = to;
        advance();
    }

    /** How far every context covers the range: decisions up to here have been handed on, but the last. */
    public long position() {
        return position;
    }

    private void advance() {
        long common = end;
        for (long c : covered) {
            common = Math.min(common, c);
        }
        while (position < common) {
            long next = common;
            for (int c = 0; c < pending.length; c++) {
                Extent e = pending[c].peek();
                while (e.end() <= position) {
                    pending[c].poll();
                    e = pending[c].peek();
                }
                flags[c] = e.flags();
                next = Math.min(next, e.end());
            }
            Action action = decider.decide(mode, flags[0], flags.length > 1 ? flags[1] : 0);
            if (action != runAction) {
                if (runAction != null) {
                    out.accept(new Decision(runStart, position - runStart, runAction));
                }
                runAction = action;
                runStart = position;
            }
            position = next;
        }
    }

    /**
     * Hands on the last decision.
     *
     * @throws IllegalArgumentException when a context does not cover the whole range
     */
    public void finish() {
        for (int c = 0; c < covered.length; c++) {
            if (covered[c] < end) {
                throw new IllegalArgumentException("context " + c + " covers only up to " + covered[c] + " of ["
                        + start + ", " + end + ")");
            }
        }
        if (runAction != null && position > runStart) {
            out.accept(new Decision(runStart, position - runStart, runAction));
            runAction = null;
            runStart = position;
        }
    }
}
