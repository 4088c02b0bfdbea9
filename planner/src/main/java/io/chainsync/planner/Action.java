package io.chainsync.planner;

/** What the destination layer does with a byte range of the source layer (DESIGN.md §1). */
public enum Action {
    /** Leave unallocated: the range falls through to the backing layer. */
    SKIP,
    /** A zero cluster: reads as zeroes and hides the backing layer, no host storage. */
    ZERO,
    /** Read the bytes over NBD and write them. */
    DATA
}
