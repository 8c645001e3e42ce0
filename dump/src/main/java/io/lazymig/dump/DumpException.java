package io.lazymig.dump;

import java.io.IOException;

/** A process lazymig cannot or must not dump; the message is the one line the operator sees. */
public final class DumpException extends IOException {
    private static final long serialVersionUID = 1L;

    public DumpException(String message) {
        super(message);
    }

    public DumpException(String message, Throwable cause) {
        super(message, cause);
    }
}
