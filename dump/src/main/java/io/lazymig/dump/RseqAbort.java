package io.lazymig.dump;

import io.lazymig.jni.NativeException;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A thread frozen inside an rseq critical section is moved to the section's abort handler, as
 * the kernel would move it on its next return to user mode: the freeze scheduled it out, which
 * aborts the section. Done at the freeze, before anything is injected: an injected syscall returns
 * to user mode at an address outside the section, so the kernel clears the thread's {@code rseq_cs}
 * without aborting, and the thread — resumed on B with --leave-running or restored on A — would go
 * on inside the section with the kernel no longer knowing it (measured: a thread that leaves its
 * section only through the abort handler spun for ever after a dump).
 *
 * <p>The kernel's rule (rseq_ip_fixup): {@code rseq->rseq_cs} names a descriptor {version 0,
 * flags, start_ip, post_commit_offset, abort_ip}; an ip with {@code ip - start_ip <
 * post_commit_offset} is inside; the abort handler must be preceded by the registered signature.
 * Then rseq_cs is cleared and the ip set to abort_ip. A descriptor the kernel would reject (it
 * kills the thread with SIGSEGV) is left as it is, for the kernel to find on resume.
 */
final class RseqAbort {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");
    /** Offset of {@code rseq_cs} in struct rseq (after cpu_id_start and cpu_id). */
    private static final int RSEQ_CS_OFFSET = 8;
    /** struct rseq_cs: version, flags (u32 each), start_ip, post_commit_offset, abort_ip (u64 each). */
    private static final int DESCRIPTOR_SIZE = 32;

    private RseqAbort() {
    }

    /**
     * If thread {@code tid} of {@code pid}, stopped with {@code regs} in user mode and registered as
     * {@code rseq}, is inside its rseq critical section: its ip set to the abort handler (in {@code regs} and in the thread) and its
     * rseq_cs cleared in memory. Returns whether it was moved.
     */
    static boolean apply(int pid, int tid, Registers regs, Ptrace.RseqConfiguration rseq) throws NativeException {
        if (regs.get("orig_rax") >= 0) {
            return false; // in a syscall: not inside a section (the kernel forbids syscalls there)
        }
        if (!rseq.registered()) {
            return false;
        }
        ByteBuffer scratch = ByteBuffer.allocateDirect(8 + DESCRIPTOR_SIZE + 4); // process_vm_readv needs direct memory
        ByteBuffer word = scratch.slice(0, 8).order(ByteOrder.LITTLE_ENDIAN);
        ProcessMemory.read(pid, rseq.abiPointer() + RSEQ_CS_OFFSET, word);
        long descriptor = word.getLong(0);
        if (descriptor == 0) {
            return false;
        }
        ByteBuffer d = scratch.slice(8, DESCRIPTOR_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        try {
            ProcessMemory.read(pid, descriptor, d);
        } catch (NativeException e) {
            return false; // an unreadable descriptor: the kernel's to judge (SIGSEGV)
        }
        int version = d.getInt(0);
        long start = d.getLong(8);
        long length = d.getLong(16);
        long abort = d.getLong(24);
        long ip = regs.rip();
        if (version != 0 || Long.compareUnsigned(ip - start, length) >= 0
                || Long.compareUnsigned(abort - start, length) < 0) {
            return false; // outside the section (the kernel clears rseq_cs lazily), or a descriptor it rejects
        }
        ByteBuffer sig = scratch.slice(8 + DESCRIPTOR_SIZE, 4).order(ByteOrder.LITTLE_ENDIAN);
        try {
            ProcessMemory.read(pid, abort - 4, sig);
        } catch (NativeException e) {
            return false;
        }
        if (sig.getInt(0) != rseq.signature()) {
            return false;
        }
        regs.setRip(abort);
        Ptrace.setRegisters(tid, regs);
        word.putLong(0, 0L).clear();
        ProcessMemory.write(pid, rseq.abiPointer() + RSEQ_CS_OFFSET, word);
        log.debug("dump: thread {} was inside an rseq critical section at 0x{}: moved to its abort handler 0x{}",
                tid, Long.toHexString(ip), Long.toHexString(abort));
        return true;
    }
}
