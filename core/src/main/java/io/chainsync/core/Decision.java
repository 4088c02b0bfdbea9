package io.chainsync.core;

/** The action for the byte range {@code [offset, offset + length)} of a layer. */
public record Decision(long offset, long length, Action action) {

    public Decision {
        if (offset < 0 || length <= 0 || offset + length < offset) {
            throw new IllegalArgumentException("bad decision range: offset " + offset + " length " + length);
        }
        if (action == null) {
            throw new IllegalArgumentException("decision action must not be null");
        }
    }

    public long end() {
        return offset + length;
    }
}
