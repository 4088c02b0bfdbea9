package io.chainsync.core;

/**
 * The on-disk format of a destination layer, named by its file name: a name ending in
 * {@code .raw} is a sparse raw file (the bottom layer only: raw has no backing file), any other
 * name a qcow2 v3 image. This is the one place the rule is written down.
 */
public enum LayerFormat {
    RAW("raw"),
    QCOW2("qcow2");

    private final String qemuName;

    LayerFormat(String qemuName) {
        this.qemuName = qemuName;
    }

    /** The format of the layer file called {@code name}. */
    public static LayerFormat of(String name) {
        return name.endsWith(".raw") ? RAW : QCOW2;
    }

    /** The format's name as qemu spells it (a qcow2 header's backing format, {@code qemu-img -f}). */
    public String qemuName() {
        return qemuName;
    }

    /** Whether a layer of this format can sit on a backing file. */
    public boolean canHaveBacking() {
        return this == QCOW2;
    }
}
