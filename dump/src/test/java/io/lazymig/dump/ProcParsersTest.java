package io.lazymig.dump;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.Sched;
import io.lazymig.jni.Ptrace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ProcParsersTest {
    private static final int SELF = (int) ProcessHandle.current().pid();

    /**
     * The smaps of a stopped traced child: dump reads a frozen process, and so does this test (a
     * running JVM maps and unmaps between the kernel's read chunks, so its smaps can list one VMA
     * twice, split or merged meanwhile).
     */
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void smapsOfAStoppedProcess() throws Exception {
        int pid = Ptrace.spawnTraced("/bin/true", new String[] {"true"}, new String[0], Ptrace.DEFAULT_OPTIONS);
        List<MapsEntry> maps;
        try {
            maps = ProcSmaps.read(pid);
        } finally {
            Ptrace.killAndReap(pid);
        }
        String exe = Path.of("/bin/true").toRealPath().toString();
        assertTrue(maps.stream().anyMatch(m -> exe.equals(m.path()) && m.isFile()), exe + " mapped: " + maps);
        MapsEntry stack = maps.stream().filter(m -> "[stack]".equals(m.path())).findFirst().orElseThrow();
        assertThat(stack.vmFlags(), hasItem("gd"));
        assertTrue(stack.isAnonymous());
        assertTrue(maps.stream().anyMatch(MapsEntry::isVdsoBlock));
        for (int i = 1; i < maps.size(); i++) {
            assertTrue(Long.compareUnsigned(maps.get(i - 1).end(), maps.get(i).start()) <= 0, "sorted and disjoint");
        }
    }

    @Test
    void mapsLineWithSpacesInPath() throws IOException {
        List<MapsEntry> m = ProcSmaps.parse(List.of(
                "7f0000000000-7f0000002000 r-xp 00001000 fd:01 1234   /tmp/a b (deleted)",
                "Size:                  8 kB",
                "VmFlags: rd ex mr mw me",
                "7f0000002000-7f0000003000 rw-p 00000000 00:00 0 "));
        assertEquals(2, m.size());
        assertEquals("/tmp/a b (deleted)", m.get(0).path());
        assertEquals(0x1000, m.get(0).offset());
        assertTrue(m.get(0).isFile());
        assertTrue(m.get(1).isAnonymous());
        assertFalse(m.get(1).shared());
    }

    @Test
    void statOfThisJvm() throws IOException {
        ProcStat s = ProcStat.read(SELF);
        assertThat(s.threads(), greaterThan(1));
        assertTrue(s.startCode() < s.endCode());
        assertTrue(s.argStart() < s.argEnd() && s.envStart() < s.envEnd());
    }

    @Test
    void statWithParenthesesInComm() throws IOException {
        StringBuilder sb = new StringBuilder("42 (a) b) R 1");
        for (int i = 5; i <= 52; i++) {
            sb.append(' ').append(i);
        }
        ProcStat s = ProcStat.parse(sb.toString());
        assertEquals('R', s.state());
        assertEquals(26, s.startCode());
        assertEquals(51, s.envEnd());
        assertThrows(IOException.class, () -> ProcStat.parse("42 (x) R 1 2"));
    }

    /** A task stat line whose field n (proc(5) numbering, n >= 4) is {@code values[n]} when set, else n. */
    private static String taskStat(String comm, Map<Integer, String> values) {
        StringBuilder sb = new StringBuilder("43 (" + comm + ") S");
        for (int i = 4; i <= 52; i++) {
            sb.append(' ').append(values.getOrDefault(i, Integer.toString(i)));
        }
        return sb.toString();
    }

    @Test
    void taskSchedFromStat() throws IOException {
        assertEquals(new Sched(Sched.SCHED_IDLE, 0, 7),
                ProcTaskSched.parse(43, taskStat("a) (b", Map.of(19, "7", 40, "0", 41, "5"))));
        assertEquals(new Sched(Sched.SCHED_FIFO, 10, -3),
                ProcTaskSched.parse(43, taskStat("w", Map.of(19, "-3", 40, "10", 41, "1"))));
        DumpException deadline = assertThrows(DumpException.class,
                () -> ProcTaskSched.parse(43, taskStat("w", Map.of(19, "0", 40, "0", 41, "6"))));
        assertEquals("thread 43 runs under SCHED_DEADLINE, which lazymig cannot restore", deadline.getMessage());
        assertThrows(IOException.class, () -> ProcTaskSched.parse(43, "43 (x) R 1 2"));
        Sched self = ProcTaskSched.read(SELF, SELF);
        assertEquals(Sched.SCHED_OTHER, self.policy());
    }

    @Test
    void statFieldsFoundAsSplitWould() {
        assertArrayEquals(new int[] {7, 10, 12}, ProcTaskSched.fieldStarts("43 (x) R  1 2\n", 6, new int[] {3, 4, 5}));
        assertArrayEquals(new int[] {9}, ProcTaskSched.fieldStarts("43 (x) R 1 2 3", 6, new int[] {4}));
        assertArrayEquals(new int[] {13}, ProcTaskSched.fieldStarts("43 (x) R 1 2 3\n", 6, new int[] {6}));
        assertNull(ProcTaskSched.fieldStarts("43 (x) R \n", 6, new int[] {3, 4}));
        assertNull(ProcTaskSched.fieldStarts("43 (x)", 6, new int[] {3}));
        assertThrows(IOException.class, () -> ProcTaskSched.parse(43, taskStat("w", Map.of(19, "x"))));
    }

    @Test
    void threadSeccompAsProcStatusSaysIt() throws IOException {
        String mode = ProcStatus.read(SELF).getOrNull("Seccomp");
        String refusal = Preflight.threadRefusal(SELF, SELF);
        if (mode == null || mode.equals("0")) {
            assertNull(refusal);
        } else {
            assertTrue(refusal.startsWith("thread " + SELF + " (" + ProcStatus.read(SELF).get("Name") + ") has seccomp "),
                    refusal);
        }
        assertNull(Preflight.threadRefusal(SELF, Integer.MAX_VALUE), "a thread gone: nothing to refuse");
        String stat = ProcTaskSched.stat(SELF, SELF, new ProcFileBuffer());
        assertEquals(ProcTaskSched.stat(SELF, SELF).substring(0, 20), stat.substring(0, 20));
    }

    @Test
    void taskCommFromTheSameStatLine() throws IOException {
        assertEquals("a) (b", ProcTaskSched.comm(43, taskStat("a) (b", Map.of())));
        assertEquals(" sp ace ", ProcTaskSched.comm(43, taskStat(" sp ace ", Map.of())));
        assertEquals("", ProcTaskSched.comm(43, taskStat("", Map.of())));
        assertThrows(IOException.class, () -> ProcTaskSched.comm(43, "43 x R 1 2"));
        String self = ProcTaskSched.stat(SELF, SELF);
        assertEquals(java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Integer.toString(SELF), "task",
                Integer.toString(SELF), "comm")).replaceAll("\n$", ""), ProcTaskSched.comm(SELF, self));
    }

    @Test
    void auxvStatusLimitsFdinfo() throws IOException {
        long[] auxv = ProcAuxv.read(SELF);
        assertEquals(0, auxv.length % 2, "key, value pairs");
        for (int i = 0; i < auxv.length; i += 2) {
            assertNotEquals(0, auxv[i], "AT_NULL (the terminator) is not kept, as in CRIU's mm_saved_auxv");
        }
        ProcStatus st = ProcStatus.read(SELF);
        assertThat(st.threads(), greaterThan(1));
        st.umask();
        long[][] limits = ProcLimits.read(SELF);
        assertEquals(16, limits.length);
        ProcFdInfo fd0 = ProcFdInfo.parse("pos:\t12\nflags:\t0100001\nmnt_id:\t5\n");
        assertEquals(12, fd0.pos());
        assertEquals(0100001, fd0.flags());
        assertThrows(IOException.class, () -> ProcFdInfo.parse("mnt_id: 5"));
    }

    @Test
    void credsFromStatus() throws IOException {
        ProcStatus st = ProcStatus.parse("Uid:\t1000\t1001\t1002\t1003\nGid:\t2000\t2001\t2002\t2003\nGroups:\t4 24 27 \n"
                + "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
                + "CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n");
        io.lazymig.images.Creds c = ProcessStateReader.creds(st);
        assertEquals(1000, c.uid());
        assertEquals(1001, c.euid());
        assertEquals(2003, c.fsgid());
        assertEquals(java.util.List.of(4, 24, 27), c.groups());
        assertEquals(0x1ffffffffffL, c.capBnd());
        assertTrue(c.noNewPrivs());
    }
}
