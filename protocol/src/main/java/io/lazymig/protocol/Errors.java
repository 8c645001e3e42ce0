package io.lazymig.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** ERROR frames: a u32 code and a UTF-8 message of at most {@value #MAX_MESSAGE} bytes. */
public final class Errors {
    public static final int REFUSED = 1;
    public static final int NOT_LAZY = 2;
    public static final int NO_SUCH_PID = 3;
    public static final int NO_SUCH_IMAGE = 4;
    public static final int BAD_REQUEST = 5;
    public static final int INTERNAL = 6;
    static final int MAX_MESSAGE = 1024;

    /** A decoded error. */
    public record Error(int code, String message) {
    }

    private Errors() {
    }

    public static ByteBuffer encode(int code, String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(m.length, MAX_MESSAGE);
        return ByteBuffer.allocate(4 + len).order(ByteOrder.LITTLE_ENDIAN).putInt(code).put(m, 0, len).flip();
    }

    public static Error decode(ByteBuffer p) {
        if (p.remaining() < 4) {
            return new Error(INTERNAL, "malformed error frame");
        }
        int code = p.getInt();
        byte[] m = new byte[Math.min(p.remaining(), MAX_MESSAGE)];
        p.get(m);
        return new Error(code, printable(new String(m, StandardCharsets.UTF_8)));
    }

    /** A peer's text as one printable line for our logs: control characters and undecodable bytes become '?'. */
    public static String printable(String text) {
        StringBuilder b = new StringBuilder(text.length());
        text.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) || c == 0xfffd
                || Character.getType(c) == Character.FORMAT || Character.getType(c) == Character.LINE_SEPARATOR
                || Character.getType(c) == Character.PARAGRAPH_SEPARATOR ? '?' : c));
        return b.toString();
    }
}
