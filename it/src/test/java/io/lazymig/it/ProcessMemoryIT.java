package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.Buffers;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.IoVecBatch;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Another process's memory, both ways, through process_vm_readv/writev and /proc/PID/mem, on a
 * traced child stopped in pause() (it/workloads/ptrace-target.c).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ProcessMemoryIT {
    @TempDir
    static Path dir;
    static Path target;

    @BeforeAll
    static void buildTarget() throws Exception {
        target = PtraceTarget.build(dir);
    }

    private static ByteBuffer ascii(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    private static String string(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return new String(out, StandardCharsets.US_ASCII);
    }

    @Test
    void readsAKnownStringBothWays() throws Exception {
        try (PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady()) {
            int n = PtraceTarget.MARKER.length();
            ByteBuffer viaVm = ByteBuffer.allocateDirect(n);
            ProcessMemory.read(t.pid, t.marker, viaVm);
            assertEquals(PtraceTarget.MARKER, string(viaVm.flip()));
            ByteBuffer viaMem = ByteBuffer.allocateDirect(n);
            try (FileDescriptor mem = ProcessMemory.openMem(t.pid, false)) {
                ProcessMemory.readMem(mem, t.marker, viaMem);
            }
            assertEquals(PtraceTarget.MARKER, string(viaMem.flip()));
        }
    }

    @Test
    void processVmWriteIsSeenByProcMemAndTheOtherWayRound() throws Exception {
        try (PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
                FileDescriptor mem = ProcessMemory.openMem(t.pid, true)) {
            ProcessMemory.write(t.pid, t.marker, ascii("written-by-process_vm_writev"));
            ByteBuffer back = ByteBuffer.allocateDirect(28);
            ProcessMemory.readMem(mem, t.marker, back);
            assertEquals("written-by-process_vm_writev", string(back.flip()));

            ProcessMemory.writeMem(mem, t.marker + 8, ascii("PROC/PID/MEM"));
            ByteBuffer again = ByteBuffer.allocateDirect(28);
            ProcessMemory.read(t.pid, t.marker, again);
            assertEquals("written-PROC/PID/MEMm_writev", string(again.flip()));
        }
    }

    @Test
    void readOnlyPagesRefuseProcessVmButNotProcMem() throws Exception {
        try (PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
                FileDescriptor mem = ProcessMemory.openMem(t.pid, true)) {
            IoVecBatch batch = new IoVecBatch(1).add(ascii("XXXX"), t.rodata);
            ProcessMemory.Transfer refused = ProcessMemory.writev(t.pid, batch);
            assertEquals(0, refused.transferred());
            assertEquals(Errno.EFAULT, refused.errno()); // KERNEL-FACTS §3.3: no FOLL_FORCE
            ProcessMemory.writeMem(mem, t.rodata, ascii("FORCED")); // PROC_MEM_ALWAYS_FORCE
            ByteBuffer back = ByteBuffer.allocateDirect(PtraceTarget.RODATA.length());
            ProcessMemory.read(t.pid, t.rodata, back);
            assertEquals("FORCED" + PtraceTarget.RODATA.substring(6), string(back.flip()));
        }
    }

    @Test
    void aBatchGathersScatteredPiecesAndStopsAtAHole() throws Exception {
        try (PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady()) {
            long rsp = Ptrace.getRegisters(t.pid).rsp();
            ByteBuffer local = ByteBuffer.allocateDirect(64);
            long l = Buffers.address(local);
            IoVecBatch batch = new IoVecBatch(4).add(l, t.marker, 7).add(l + 7, t.rodata + 8, 6).add(l + 13, rsp, 16);
            ProcessMemory.Transfer ok = ProcessMemory.readv(t.pid, batch);
            assertTrue(ok.complete(), ok.toString());
            assertEquals(29, ok.check());
            assertEquals("lazymigptrace", string(local.slice(0, 13)));
            ByteBuffer stack = ByteBuffer.allocateDirect(16);
            ProcessMemory.read(t.pid, rsp, stack);
            assertEquals(stack.flip(), local.slice(13, 16));

            batch.add(l + 29, 4096, 8); // page 1 is never mapped
            ProcessMemory.Transfer partial = ProcessMemory.readv(t.pid, batch);
            assertFalse(partial.complete());
            assertEquals(29, partial.transferred());
            assertEquals(Errno.EFAULT, partial.errno());
            NativeException e = assertThrows(NativeException.class, partial::check);
            assertEquals("process_vm_readv(" + t.pid + ", 4 iovecs): stopped after 29 of 37 bytes: EFAULT (Bad address)",
                    e.getMessage());
        }
    }

    @Test
    void aWholeExecutableMappingReadsTheSameBothWays() throws Exception {
        try (PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
                FileDescriptor mem = ProcessMemory.openMem(t.pid, false)) {
            String text = t.maps().stream().filter(l -> l.contains(" r-xp ") && l.endsWith("/ptrace-target"))
                    .findFirst().orElseThrow();
            String[] range = text.split("\\s+")[0].split("-");
            long start = Long.parseUnsignedLong(range[0], 16);
            int len = (int) (Long.parseUnsignedLong(range[1], 16) - start);
            ByteBuffer viaVm = ByteBuffer.allocateDirect(len);
            ProcessMemory.read(t.pid, start, viaVm);
            ByteBuffer viaMem = ByteBuffer.allocateDirect(len);
            ProcessMemory.readMem(mem, start, viaMem);
            assertEquals(viaVm.flip(), viaMem.flip());
        }
    }

    @Test
    void unmappedAddressesAndDeadProcessesAreErrorsNamingTheCall() throws Exception {
        PtraceTarget t = PtraceTarget.spawn(target, dir).runUntilReady();
        FileDescriptor mem = ProcessMemory.openMem(t.pid, true);
        try {
            NativeException hole = assertThrows(NativeException.class,
                    () -> ProcessMemory.writeMem(mem, 4096, ascii("x")));
            assertEquals(Errno.EIO, hole.errno());
            assertThat(hole.getMessage(), containsString("pwrite(/proc/PID/mem fd "));
        } finally {
            t.close();
        }
        try {
            NativeException dead = assertThrows(NativeException.class,
                    () -> ProcessMemory.read(t.pid, t.marker, ByteBuffer.allocateDirect(8)));
            assertEquals(Errno.ESRCH, dead.errno());
            // An fd opened before the death reads nothing: the mm is gone.
            NativeException gone = assertThrows(NativeException.class,
                    () -> ProcessMemory.readMem(mem, t.marker, ByteBuffer.allocateDirect(8)));
            assertThat(gone.getMessage(), containsString("stopped after 0 of 8 bytes"));
            assertEquals(Errno.ENOENT,
                    assertThrows(NativeException.class, () -> ProcessMemory.openMem(t.pid, false)).errno());
        } finally {
            mem.close();
        }
    }
}
