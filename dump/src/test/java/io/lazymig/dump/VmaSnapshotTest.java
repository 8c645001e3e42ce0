package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The smaps read before the freeze, kept or read again once the process is stopped (a traced child here). */
class VmaSnapshotTest {
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void keptWhenNothingMovedReadAgainWhenAMappingAppeared() throws Exception {
        int pid = Ptrace.spawnTraced("/bin/true", new String[] {"true"}, new String[0], Ptrace.DEFAULT_OPTIONS);
        try {
            VmaSnapshot before = VmaSnapshot.take(List.of(pid));
            List<MapsEntry> kept = before.confirmed(pid);
            assertSame(kept, before.confirmed(pid), "the entries read before stand while nothing moved");
            assertEquals(ProcSmaps.read(pid), kept);
            assertTrue(kept.stream().anyMatch(m -> m.vmFlags().contains("gd")), "with VmFlags (the stack's gd)");

            SyscallInjector inj = new SyscallInjector(pid, SyscallInjector.findSyscallInstruction(pid));
            long page = SystemInfo.PAGE_SIZE;
            long at = inj.inject(Syscalls.MMAP, 0, page, Syscalls.PROT_READ, Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0);
            assertFalse(Syscalls.isError(at), "injected mmap");
            List<MapsEntry> again = before.confirmed(pid);
            assertNotSame(kept, again);
            assertTrue(again.stream().anyMatch(m -> m.start() <= at && at < m.end() && !m.vmFlags().isEmpty()),
                    "the new mapping, read from smaps: " + again);
            assertEquals(ProcSmaps.read(pid), again);
        } finally {
            Ptrace.killAndReap(pid);
        }
    }

    /** A process gone before the snapshot is left out of it; its confirmation fails as reading it would. */
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aProcessGoneIsLeftToTheFreeze() throws Exception {
        int pid = Ptrace.spawnTraced("/bin/true", new String[] {"true"}, new String[0], Ptrace.DEFAULT_OPTIONS);
        Ptrace.killAndReap(pid);
        VmaSnapshot s = VmaSnapshot.take(List.of(pid));
        assertThrows(IOException.class, () -> s.confirmed(pid));
    }

    @Test
    void mappingsCompareWithoutTheirFlags() {
        MapsEntry a = entry(0x1000, 0x3000, true, "/lib/x", Set.of("rd", "mr"));
        MapsEntry aNoFlags = entry(0x1000, 0x3000, true, "/lib/x", Set.of());
        assertTrue(VmaSnapshot.sameMappings(List.of(a), List.of(aNoFlags)));
        assertFalse(VmaSnapshot.sameMappings(List.of(a), List.of(entry(0x1000, 0x2000, true, "/lib/x", Set.of()))),
                "split");
        assertFalse(VmaSnapshot.sameMappings(List.of(a), List.of(entry(0x1000, 0x3000, false, "/lib/x", Set.of()))),
                "mprotect");
        assertFalse(VmaSnapshot.sameMappings(List.of(a), List.of(entry(0x1000, 0x3000, true, "/lib/y", Set.of()))),
                "another file");
        assertFalse(VmaSnapshot.sameMappings(List.of(a), List.of(aNoFlags, entry(0x5000, 0x6000, true, null, Set.of()))),
                "one more");
        assertTrue(VmaSnapshot.sameMappings(List.of(), List.of()));
    }

    private static MapsEntry entry(long start, long end, boolean write, String path, Set<String> flags) {
        return new MapsEntry(start, end, true, write, false, false, 0, path == null ? 0 : 7, path, flags);
    }
}
