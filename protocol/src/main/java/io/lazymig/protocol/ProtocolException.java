package io.lazymig.protocol;

import java.io.IOException;

/** A peer that broke the protocol, or refused us; the message is one line for the operator. */
public final class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    public ProtocolException(String message) {
        super(message);
    }
}
