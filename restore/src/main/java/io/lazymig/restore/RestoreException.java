package io.lazymig.restore;

import java.io.IOException;

/** A restore that cannot go on; the message is the one line the operator sees. */
public final class RestoreException extends IOException {
    private static final long serialVersionUID = 1L;

    public RestoreException(String message) {
        super(message);
    }

    public RestoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
