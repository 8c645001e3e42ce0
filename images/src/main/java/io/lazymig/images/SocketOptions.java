package io.lazymig.images;

/**
 * The socket options a socket of any family carries that the kernel lets us read back with
 * getsockopt (CRIU's sk_opts_entry): buffer sizes (as getsockopt reports them, doubled by the
 * kernel), timeouts in microseconds (0: none), the boolean options and the TCP keep-alive tuning
 * (0: the system's default).
 */
public record SocketOptions(int sndbuf, int rcvbuf, long sndTimeoUsec, long rcvTimeoUsec, boolean reuseaddr,
        boolean reuseport, boolean keepalive, boolean broadcast, int priority, int rcvlowat, int mark, boolean passcred,
        int keepcnt, int keepidle, int keepintvl) {
    /** What a fresh socket has, as far as a test needs a value. */
    public static final SocketOptions DEFAULTS = new SocketOptions(212992, 212992, 0, 0, false, false, false, false, 0,
            1, 0, false, 0, 0, 0);

    public SocketOptions {
        if (sndbuf < 0 || rcvbuf < 0 || sndTimeoUsec < 0 || rcvTimeoUsec < 0 || priority < 0 || rcvlowat < 0
                || keepcnt < 0 || keepidle < 0 || keepintvl < 0) {
            throw new IllegalArgumentException("socket options with a negative value: " + this);
        }
    }
}
