package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.lazymig.images.Zombie;
import org.junit.jupiter.api.Test;

/** A zombie child as /proc/PID/stat shows it: its ids, its name (even with spaces and parentheses) and its wait status. */
class FrozenTreeTest {
    /** The fields of proc(5) after the name, from state (3) to exit_code (52). */
    private static String stat(int pid, String comm, char state, int ppid, int pgid, int sid, int exitCode) {
        StringBuilder b = new StringBuilder().append(pid).append(" (").append(comm).append(") ").append(state).append(' ')
                .append(ppid).append(' ').append(pgid).append(' ').append(sid);
        for (int field = 7; field <= 51; field++) {
            b.append(' ').append(field == 22 ? 123456 : 0);
        }
        return b.append(' ').append(exitCode).append('\n').toString();
    }

    @Test
    void aZombieWithItsExitStatus() {
        Zombie z = FrozenTree.parseZombie(stat(42, "done (x) y", 'Z', 40, 40, 7, 42 << 8), 40);
        assertEquals(new Zombie(42, 40, 40, 7, "done (x) y", 42 << 8), z);
        assertEquals(42, z.exitCode());
    }

    @Test
    void killedBySignal() {
        assertEquals(9, FrozenTree.parseZombie(stat(43, "k", 'Z', 40, 40, 40, 9), 40).termSignal());
    }

    @Test
    void aLiveProcessIsNoZombie() {
        assertNull(FrozenTree.parseZombie(stat(44, "alive", 'S', 40, 40, 40, 0), 40));
    }
}
