package io.lazymig.restore;

import io.lazymig.jni.Syscalls;
import java.io.IOException;

/**
 * Restore's own stdio (which the stub inherited as fds 0..2), moved above the range being rebuilt
 * so the process's fds can take 0..2; a terminal of the checkpoint becomes a copy of one of them
 * (CRIU's --shell-job). Closed once the fd table is rebuilt.
 */
final class ParkedStdio {
    /** Where the copies sit while the fds are rebuilt. */
    static final int PARKING = 1000;

    private final long[] fds;

    private ParkedStdio(long[] fds) {
        this.fds = fds;
    }

    /** Moves fds 0..2 to {@link #PARKING}.. (a missing one stays missing: -errno). */
    static ParkedStdio park(Injector in) throws IOException {
        long[] fds = new long[3];
        for (int i = 0; i < 3; i++) {
            fds[i] = in.raw(Syscalls.FCNTL, i, Syscalls.F_DUPFD, PARKING + i);
            in.raw(Syscalls.CLOSE, i);
        }
        return new ParkedStdio(fds);
    }

    /** The parked copy of stdio fd {@code fd} (fds above 2 use stderr), else any parked one; -1 when none. */
    long forFd(int fd) {
        long src = fds[Math.min(fd, 2)];
        if (!Syscalls.isError(src)) {
            return src;
        }
        for (long p : fds) {
            if (!Syscalls.isError(p)) {
                return p;
            }
        }
        return -1;
    }

    void close(Injector in) throws IOException {
        for (long p : fds) {
            if (!Syscalls.isError(p)) {
                in.raw(Syscalls.CLOSE, p);
            }
        }
    }
}
