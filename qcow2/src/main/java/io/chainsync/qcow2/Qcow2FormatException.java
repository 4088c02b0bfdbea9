package io.chainsync.qcow2;

import java.io.IOException;

/** The file is not a qcow2 image this library can handle (bad magic, unsupported feature, corrupt field). */
public class Qcow2FormatException extends IOException {

    public Qcow2FormatException(String message) {
        super(message);
    }
}
