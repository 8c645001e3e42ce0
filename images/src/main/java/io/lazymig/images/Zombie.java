package io.lazymig.images;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A process of the tree that had exited but was not reaped yet at dump: only its place in the
 * tree, its name and its wait status (as waitpid(2) reports it: exit code in bits 8-15, or the
 * terminating signal in bits 0-6). CRIU writes it as a pstree entry whose core has task_state 2
 * (dead) and this exit_code; restore recreates it as a child that exits at once the same way, for
 * its parent to reap.
 */
public record Zombie(int pid, int ppid, int pgid, int sid, String comm, int exitStatus) {
    public Zombie {
        if (pid <= 0 || ppid <= 0 || pgid < 0 || sid < 0) {
            throw new IllegalArgumentException("zombie: bad ids: pid " + pid + " ppid " + ppid + " pgid " + pgid
                    + " sid " + sid);
        }
        Objects.requireNonNull(comm, "comm");
        if (comm.getBytes(StandardCharsets.UTF_8).length > ProcessState.MAX_COMM_BYTES) {
            throw new IllegalArgumentException("zombie " + pid + ": comm \"" + comm + "\" too long");
        }
        if ((exitStatus & ~0xffff) != 0 || (exitStatus & 0x7f) == 0x7f) {
            throw new IllegalArgumentException("zombie " + pid + ": wait status 0x" + Integer.toHexString(exitStatus)
                    + " is neither an exit nor a termination by a signal");
        }
    }

    /** The signal that terminated it, or 0 when it exited. */
    public int termSignal() {
        return exitStatus & 0x7f;
    }

    /** Its exit code (when {@link #termSignal()} is 0). */
    public int exitCode() {
        return (exitStatus >> 8) & 0xff;
    }
}
