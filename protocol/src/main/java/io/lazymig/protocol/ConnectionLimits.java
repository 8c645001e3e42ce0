package io.lazymig.protocol;

import java.time.Duration;

/**
 * What a listening end (the lazy server, the agent) lets connections cost. Before authentication
 * a connection holds a thread, its socket and a few hundred bytes, for at most {@code handshake};
 * at most {@code handshakes} are in their handshake at once, and a connection beyond that is
 * closed at once with a warning. After it, at most {@code sessions} connections are served at
 * once; one more is told the server is full and closed.
 */
public record ConnectionLimits(Duration handshake, int handshakes, int sessions) {
    /** Defaults: 10 s to authenticate, 32 handshakes at once, 64 sessions. */
    public static final ConnectionLimits DEFAULT = new ConnectionLimits(Duration.ofSeconds(10), 32, 64);

    public ConnectionLimits {
        if (handshake.isNegative() || handshake.isZero() || handshakes <= 0 || sessions <= 0) {
            throw new IllegalArgumentException("connection limits must be positive: " + handshake + ", " + handshakes + ", "
                    + sessions);
        }
    }
}
