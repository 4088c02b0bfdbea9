package io.chainsync.core;

/**
 * What the destination layer does with a byte range of the source layer (docs/design.md,
 * "The decision table"). Each action has a fixed {@link #code()} for compact wire encodings:
 * codes are part of the format and never change, whatever the declaration order.
 */
public enum Action {
    /** Leave unallocated: the range falls through to the backing layer. */
    SKIP(0),
    /** A zero cluster: reads as zeroes and hides the backing layer, no host storage. */
    ZERO(1),
    /** Read the bytes over NBD and write them. */
    DATA(2);

    private final byte code;

    Action(int code) {
        this.code = (byte) code;
    }

    /** The action's stable one-byte code. */
    public byte code() {
        return code;
    }

    /** @throws IllegalArgumentException for a code no action has */
    public static Action ofCode(int code) {
        for (Action a : values()) {
            if (a.code == code) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown action code " + code);
    }
}
