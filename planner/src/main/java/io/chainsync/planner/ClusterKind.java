package io.chainsync.planner;

/** What one destination cluster is, in qcow2 terms. */
public enum ClusterKind {
    /** No L2 entry: reads through to the backing file. */
    UNALLOCATED,
    /** L2 zero flag, no host cluster: reads as zeroes, hides the backing file. */
    ZERO,
    /** A host cluster holding the bytes read from the source. */
    DATA;

    static ClusterKind of(Action action) {
        switch (action) {
            case SKIP:
                return UNALLOCATED;
            case ZERO:
                return ZERO;
            case DATA:
                return DATA;
            default:
                throw new IllegalArgumentException("unknown action " + action);
        }
    }
}
