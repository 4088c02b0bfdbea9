package io.chainsync.core;

/**
 * One run of a metadata context over a byte range of a layer: {@code [offset, offset + length)}
 * carries the context's value {@code flags}.
 *
 * <p>The meaning of {@code flags} depends on the context (see {@link MetaContexts}):
 * <ul>
 *   <li>{@code base:allocation}: bit 0 {@link MetaContexts#STATE_HOLE}, bit 1 {@link MetaContexts#STATE_ZERO};</li>
 *   <li>{@code qemu:allocation-depth}: the depth, 0 = absent, 1 = local, N &ge; 2 = backing layer N;</li>
 *   <li>{@code qemu:dirty-bitmap:NAME}: bit 0 {@link MetaContexts#STATE_DIRTY}.</li>
 * </ul>
 */
public record Extent(long offset, long length, int flags) {

    public Extent {
        if (offset < 0) {
            throw new IllegalArgumentException("extent offset must not be negative: " + offset);
        }
        if (length <= 0) {
            throw new IllegalArgumentException("extent length must be positive: " + length);
        }
        if (offset + length < offset) {
            throw new IllegalArgumentException("extent overflows: offset " + offset + " length " + length);
        }
    }

    /** The first byte after this extent. */
    public long end() {
        return offset + length;
    }
}
