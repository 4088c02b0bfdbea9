package io.chainsync.nbd.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Small helpers shared by the encoders and decoders. */
final class Wire {

    private Wire() {
        throw new AssertionError("no instances");
    }

    static final long UINT32_MAX = 0xffff_ffffL;

    static long uint32(int value) {
        return value & UINT32_MAX;
    }

    static int uint16(short value) {
        return value & 0xffff;
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Bytes of a protocol string, refusing anything longer than {@link NbdConstants#NBD_MAX_STRING}. */
    static byte[] protocolString(String what, String text) {
        byte[] bytes = utf8(text);
        if (bytes.length > NbdConstants.NBD_MAX_STRING) {
            throw new IllegalArgumentException(what + " longer than " + NbdConstants.NBD_MAX_STRING + " bytes");
        }
        return bytes;
    }

    /** Decodes {@code length} bytes at the buffer's position as strict UTF-8, advancing the position. */
    static String readUtf8(ByteBuffer in, int length, String what) throws NbdProtocolException {
        if (length < 0 || length > in.remaining()) {
            throw new NbdProtocolException(what + ": length " + length + " exceeds the " + in.remaining()
                    + " bytes available");
        }
        ByteBuffer slice = in.slice(in.position(), length);
        in.position(in.position() + length);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(slice)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new NbdProtocolException(what + " is not valid UTF-8", e);
        }
    }

    /** Lenient variant for human readable messages: malformed input is replaced, never fatal. */
    static String readMessage(ByteBuffer in, int length) {
        byte[] bytes = new byte[length];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
