package io.chainsync.core;

import java.util.List;
import java.util.Set;

/**
 * The decision table of docs/design.md §1: what the destination layer does with a byte range, from the
 * joined values of the contexts over that range. Pure; every row is a branch below.
 *
 * <pre>
 * allocation-depth          base:allocation            action
 * 0 (absent) or &ge; 2        any                        SKIP   falls through to the backing
 * 1 (local)                 ZERO (with or without HOLE) ZERO   zero cluster, hides the backing
 * 1 (local)                 neither ZERO nor HOLE      DATA
 * 1 (local)                 HOLE without ZERO          DATA   (content undefined by spec: read)
 * not offered, bottom       ZERO / otherwise           SKIP / DATA   (nothing below the bottom)
 * not offered, not bottom   -                          refused: not reproducible
 *
 * dirty bitmap (incremental):  dirty + ZERO → ZERO,  dirty + otherwise → DATA,  clean → SKIP
 * flatten (whole chain, one layer):  ZERO → SKIP,  otherwise → DATA   (every depth counts)
 * </pre>
 */
public final class DecisionTable {

    /** Which second context joins {@code base:allocation}, and so which rows apply. */
    public enum Mode {
        /** {@code qemu:allocation-depth} tells local, absent and backing ranges apart. */
        ALLOCATION_DEPTH,
        /** The bottom layer of a chain served without the depth context: nothing lies below it. */
        BOTTOM_WITHOUT_DEPTH,
        /** Incremental: {@code qemu:dirty-bitmap:NAME} says which ranges changed. */
        DIRTY_BITMAP,
        /**
         * Full backup of a disk served with its whole backing chain attached (as the guest sees
         * it) into one layer with nothing below: whatever layer of the chain provides a range, it
         * is copied; what reads as zeroes is left unallocated. Chosen explicitly ({@code --flatten}),
         * never because a context is missing: {@code qemu:allocation-depth} is not asked for, so
         * ranges at depth &ge; 2 are never mistaken for ranges to skip.
         */
        FLATTEN;

        /**
         * Whether the mode knows which ranges the layer owns, so that a destination cluster must
         * not mix owned and not-owned ranges. Without the depth context, nothing is known of
         * ownership and nothing lies below the bottom layer: a skipped range there simply reads
         * as zeroes, and may share a cluster with data.
         */
        public boolean exactOwnership() {
            return this != BOTTOM_WITHOUT_DEPTH && this != FLATTEN;
        }

        /** Whether a second context joins {@code base:allocation} (depth or dirty bitmap). */
        public boolean joinsSecondContext() {
            return this == ALLOCATION_DEPTH || this == DIRTY_BITMAP;
        }
    }

    private DecisionTable() {
    }

    /**
     * @param baseAllocation the {@code base:allocation} flags over the range
     * @param second the depth (ALLOCATION_DEPTH), the dirty-bitmap flags (DIRTY_BITMAP), ignored otherwise
     */
    public static Action decide(Mode mode, int baseAllocation, int second) {
        boolean zero = (baseAllocation & MetaContexts.STATE_ZERO) != 0;
        switch (mode) {
            case ALLOCATION_DEPTH:
                if (second != MetaContexts.DEPTH_LOCAL) {
                    return Action.SKIP;
                }
                return zero ? Action.ZERO : Action.DATA;
            case BOTTOM_WITHOUT_DEPTH:
            case FLATTEN:
                return zero ? Action.SKIP : Action.DATA;
            case DIRTY_BITMAP:
                if ((second & MetaContexts.STATE_DIRTY) == 0) {
                    return Action.SKIP;
                }
                return zero ? Action.ZERO : Action.DATA;
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
    }

    /**
     * Chooses the mode for a layer from the contexts its server offered.
     *
     * @param bottom whether the layer is the bottom of the chain (nothing below it)
     * @param offered the metadata contexts the server agreed to
     * @param dirtyBitmap the bitmap an incremental job asks for, or null
     * @throws NotReproducibleException when the offered contexts cannot reproduce the layer exactly
     */
    public static Mode selectMode(boolean bottom, Set<String> offered, String dirtyBitmap) {
        return selectMode(bottom, offered, dirtyBitmap, false);
    }

    /**
     * As {@link #selectMode(boolean, Set, String)}, and {@code flatten} asks for FLATTEN: a
     * one-layer job (nothing below it) copying everything its server's whole chain provides.
     *
     * @throws NotReproducibleException when the offered contexts cannot reproduce the layer exactly
     * @throws IllegalArgumentException when FLATTEN is asked for a layer that is not the bottom or
     *                                  together with a dirty bitmap
     */
    public static Mode selectMode(boolean bottom, Set<String> offered, String dirtyBitmap, boolean flatten) {
        if (!offered.contains(MetaContexts.BASE_ALLOCATION)) {
            throw new NotReproducibleException("the server does not offer " + MetaContexts.BASE_ALLOCATION);
        }
        if (flatten) {
            if (dirtyBitmap != null) {
                throw new IllegalArgumentException("flatten copies a whole disk; it cannot be incremental"
                        + " (dirty bitmap " + dirtyBitmap + ")");
            }
            if (!bottom) {
                throw new IllegalArgumentException("flatten makes one layer with nothing below it");
            }
            return Mode.FLATTEN;
        }
        if (dirtyBitmap != null) {
            String context = MetaContexts.dirtyBitmap(dirtyBitmap);
            if (!offered.contains(context)) {
                throw new NotReproducibleException("the server does not offer " + context
                        + " (serve the image with qemu-nbd -B " + dirtyBitmap + ")");
            }
            return Mode.DIRTY_BITMAP;
        }
        if (offered.contains(MetaContexts.ALLOCATION_DEPTH)) {
            return Mode.ALLOCATION_DEPTH;
        }
        if (bottom) {
            return Mode.BOTTOM_WITHOUT_DEPTH;
        }
        throw new NotReproducibleException("the server does not offer " + MetaContexts.ALLOCATION_DEPTH
                + ": a zero cluster of this layer cannot be told from a cluster it does not have"
                + " (serve the layer with qemu-nbd -A)");
    }

    /** The contexts a mode decides from: base:allocation first, then the second context if the mode has one. */
    public static List<String> contexts(Mode mode, String dirtyBitmap) {
        return mode.joinsSecondContext()
                ? requestedContexts(dirtyBitmap)
                : List.of(MetaContexts.BASE_ALLOCATION);
    }

    /** The contexts a layer asks its server for, in the order {@link LayerDecisions} expects them. */
    public static List<String> requestedContexts(String dirtyBitmap) {
        if (dirtyBitmap != null) {
            return List.of(MetaContexts.BASE_ALLOCATION, MetaContexts.dirtyBitmap(dirtyBitmap));
        }
        return List.of(MetaContexts.BASE_ALLOCATION, MetaContexts.ALLOCATION_DEPTH);
    }
}
