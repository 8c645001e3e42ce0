package io.lazymig.jni;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A pid no process can have: the kernel hands out pids below pid_max, and pid_max can never exceed
 * PID_MAX_LIMIT (4194304 on 64-bit). A reaped child's pid would not do: on a busy machine (pid_max is
 * 32768 on some) it can be reused by anyone's process, and a test that SIGKILLs it kills a stranger.
 */
final class NoSuchPid {
    /** PID_MAX_LIMIT of 64-bit kernels (include/linux/threads.h: 4 * 1024 * 1024). */
    static final int PID = 4 * 1024 * 1024;

    private NoSuchPid() {
    }

    static int get() throws IOException {
        long pidMax = Long.parseLong(Files.readString(Path.of("/proc/sys/kernel/pid_max")).trim());
        assertTrue(pidMax <= PID, "pid_max " + pidMax + " above PID_MAX_LIMIT?");
        return PID;
    }
}
