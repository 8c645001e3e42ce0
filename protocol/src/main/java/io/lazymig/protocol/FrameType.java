package io.lazymig.protocol;

/** The frame types of lazymig's page-transfer protocol (PROTOCOL.md). */
public enum FrameType {
    HELLO(1), CHALLENGE(2), AUTH(3), WELCOME(4), ERROR(5),
    GET_PAGES(10), PAGES(11),
    LIST_IMAGES(20), IMAGES(21), GET_IMAGE(22), IMAGE(23),
    DONE(30), PING(40), PONG(41), BYE(50),
    /** migrate and agent: a control message (key=value lines), and a file of the images (name, offset, data). */
    CONTROL(60), FILE(61);

    public final int code;

    /** By code (values() would clone its array on every frame read). */
    private static final FrameType[] BY_CODE = new FrameType[64];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    FrameType(int code) {
        this.code = code;
    }

    /** The type of a code read off the wire, or null when unknown. */
    public static FrameType of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
