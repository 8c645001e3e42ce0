package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lazymig.jni.Errno;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** clone3 with set_tid: restore gives the restored process its original pid when it is free. */
class SpawnWithPidIT {
    private static final String STUB = Path.of(System.getProperty("lazymig.native.dir"), "lazymig-stub").toString();

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void spawnsWithTheRequestedPid() throws Exception {
        int pid = freePid();
        int got = Ptrace.spawnTraced(STUB, new String[] {STUB}, new String[0], null, null, null,
                Ptrace.DEFAULT_OPTIONS, pid);
        try {
            assertEquals(pid, got);
            assertEquals(STUB, Files.readSymbolicLink(Path.of("/proc/" + got + "/exe")).toString());
        } finally {
            Ptrace.killAndReap(got);
        }
    }

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aTakenPidIsEexistNamingClone3() {
        int taken = (int) ProcessHandle.current().pid();
        NativeException e = assertThrows(NativeException.class, () -> Ptrace.spawnTraced(STUB, new String[] {STUB},
                new String[0], null, null, null, Ptrace.DEFAULT_OPTIONS, taken));
        assertEquals(Errno.EEXIST, e.errno());
        assertThat(e.getMessage(), startsWith("clone3(set_tid=" + taken + "): EEXIST"));
    }

    /** A pid well away from the allocator's cursor that no process has. */
    static int freePid() throws Exception {
        // Files.readString truncates /proc/sys files (JDK 17 reads them as size-0 files): read lines.
        int max = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim());
        for (int p = max - 1; p > 1000; p -= 97) {
            if (!Files.exists(Path.of("/proc/" + p))) {
                return p;
            }
        }
        throw new IllegalStateException("no free pid found");
    }
}
