package io.chainsync.core;

/**
 * The per-range decision as a function; {@link #TABLE} is the only correct one. Tests substitute
 * deliberately naive deciders to prove that the judgement of reconstructed layers can fail.
 */
@FunctionalInterface
public interface Decider {

    /** The decision table of docs/design.md §1. */
    Decider TABLE = DecisionTable::decide;

    Action decide(DecisionTable.Mode mode, int baseAllocation, int second);
}
