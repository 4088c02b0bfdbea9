package io.chainsync.core;

/**
 * What one destination cluster is, in qcow2 terms. Each kind has a fixed {@link #code()} for
 * persisted encodings (a chunk's runs file): codes never change, whatever the declaration order.
 */
public enum ClusterKind {
    /** No L2 entry: reads through to the backing file. */
    UNALLOCATED(0),
    /** L2 zero flag, no host cluster: reads as zeroes, hides the backing file. */
    ZERO(1),
    /** A host cluster holding the bytes read from the source. */
    DATA(2);

    private final byte code;

    ClusterKind(int code) {
        this.code = (byte) code;
    }

    /** The kind's stable one-byte code. */
    public byte code() {
        return code;
    }

    /** @throws IllegalArgumentException for a code no kind has */
    public static ClusterKind ofCode(int code) {
        for (ClusterKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown cluster kind code " + code);
    }

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
