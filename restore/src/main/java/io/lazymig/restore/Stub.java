package io.lazymig.restore;

import io.lazymig.jni.Errno;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The stub process restore turns into the checkpointed one, driven by injected syscalls, plus a
 * scratch area in it for the arguments that live in memory (paths, structs). Must be used from
 * the thread that spawned it (its tracer).
 */
final class Stub implements Injector {
    static final long SCRATCH_SIZE = 64 * 1024;

    private final int pid;
    private final SyscallInjector injector;
    private long scratch;
    private long cursor;
    private int injected;

    Stub(int pid, long syscallAddress) {
        this.pid = pid;
        this.injector = new SyscallInjector(pid, syscallAddress);
    }

    /**
     * An injector into thread {@code tid} of this process (a thread restore created): the same
     * syscall instruction and scratch area, as the threads share the address space. The scratch
     * area stays this stub's to map and unmap.
     */
    Stub forThread(int tid) {
        Stub t = new Stub(tid, injector.syscallAddress());
        t.scratch = scratch;
        t.cursor = scratch;
        return t;
    }

    /**
     * Injects {@code clone3(args, size)} that creates a thread while this process has
     * PTRACE_O_TRACECLONE, or a child process while it has PTRACE_O_TRACEFORK (see
     * {@link SyscallInjector#injectClone}); returns the raw result.
     */
    long cloneTask(long args, int size) throws IOException {
        injected++;
        return injector.injectClone(Syscalls.CLONE3, args, size);
    }

    /** The syscall instruction injections use. */
    long syscallAddress() {
        return injector.syscallAddress();
    }

    @Override
    public int pid() {
        return pid;
    }

    void useSyscallAt(long address) {
        injector.useSyscallAt(address);
    }

    /**
     * Injects a syscall; an error result is a RestoreException naming it: "injected NAME(ARGS)
     * failed: ERRNO (text)", the arguments in hex. The message is built only then: string
     * concatenation costs a bootstrap per call site on a cold JVM (~1 ms each), and restore runs
     * once per JVM.
     */
    @Override
    public long call(String name, int nr, long... args) throws IOException {
        injected++;
        long rc = injector.inject(nr, args);
        if (Syscalls.isError(rc)) {
            int errno = Syscalls.errno(rc);
            StringBuilder sb = new StringBuilder("injected ").append(name).append('(');
            for (int i = 0; i < args.length; i++) {
                sb.append(i > 0 ? ", " : "").append("0x").append(Long.toHexString(args[i]));
            }
            throw new RestoreException(sb.append(") failed: ").append(Errno.name(errno)).append(" (")
                    .append(Errno.text(errno)).append(')').toString());
        }
        return rc;
    }

    /**
     * Injects syscall {@code nr} into every thread of {@code calls} (threads of this process, stopped,
     * this one's included; each with its own arguments) at once ({@link SyscallBatch}); an error
     * result of any is a RestoreException naming the syscall and the thread, as {@link #call}'s.
     */
    long[] callEach(String name, int nr, List<SyscallBatch.Call> calls) throws IOException {
        injected += calls.size();
        long[] rcs = SyscallBatch.inject(nr, calls);
        for (int i = 0; i < rcs.length; i++) {
            if (Syscalls.isError(rcs[i])) {
                int errno = Syscalls.errno(rcs[i]);
                SyscallBatch.Call c = calls.get(i);
                StringBuilder sb = new StringBuilder("injected ").append(name).append('(');
                for (int j = 0; j < c.args().length; j++) {
                    sb.append(j > 0 ? ", " : "").append("0x").append(Long.toHexString(c.args()[j]));
                }
                throw new RestoreException(sb.append(") in thread ").append(c.tid()).append(" failed: ")
                        .append(Errno.name(errno)).append(" (").append(Errno.text(errno)).append(')').toString());
            }
        }
        return rcs;
    }

    /** A call of {@link #callEach} in thread {@code tid} of this process, at this stub's syscall instruction. */
    SyscallBatch.Call in(int tid, long... args) {
        return new SyscallBatch.Call(tid, injector.syscallAddress(), args);
    }

    /** Injects a syscall and returns its raw result (-errno on failure). */
    @Override
    public long raw(int nr, long... args) throws IOException {
        injected++;
        return injector.inject(nr, args);
    }

    /** Counts {@code n} syscalls the process ran itself ({@link SyscallRun}). */
    void counted(int n) {
        injected += n;
    }

    /** How many syscalls were injected so far. */
    int injected() {
        return injected;
    }

    /**
     * The mmap of the scratch area at {@code address} (free in both layouts), for {@link #mapScratches}.
     * Executable too: runs of syscalls are a loop of code written into it ({@link SyscallRun}). It
     * is unmapped before the process is released.
     */
    static SyscallBatch.Call scratchCall(Stub stub, long address) {
        return new SyscallBatch.Call(stub.pid, stub.injector.syscallAddress(), address, SCRATCH_SIZE,
                Syscalls.PROT_READ | Syscalls.PROT_WRITE | Syscalls.PROT_EXEC,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS | Syscalls.MAP_FIXED_NOREPLACE, -1, 0);
    }

    /**
     * Maps the scratch area of every stub of {@code stubs} at once ({@link SyscallBatch}; each a
     * process's leader): {@code calls.get(i)} is {@link #scratchCall} of stub i at {@code addresses[i]}.
     */
    static void mapScratches(List<Stub> stubs, List<SyscallBatch.Call> calls, long[] addresses) throws IOException {
        long[] rcs = SyscallBatch.inject(Syscalls.MMAP, calls);
        for (int i = 0; i < rcs.length; i++) {
            Stub s = stubs.get(i);
            s.injected++;
            if (Syscalls.isError(rcs[i])) {
                int errno = Syscalls.errno(rcs[i]);
                throw new RestoreException("injected mmap of the scratch area in process " + s.pid + " failed: "
                        + Errno.name(errno) + " (" + Errno.text(errno) + ")");
            }
            if (rcs[i] != addresses[i]) {
                throw new RestoreException("scratch area mapped at 0x" + Long.toHexString(rcs[i]) + ", not 0x"
                        + Long.toHexString(addresses[i]));
            }
            s.scratch = addresses[i];
            s.cursor = addresses[i];
        }
    }

    long scratch() {
        return scratch;
    }

    /**
     * Unmaps the scratch area of every stub of {@code stubs} (each a process's leader) at once
     * ({@link SyscallBatch}): a tree's processes in one round of stops, not one each.
     */
    static void unmapScratches(List<Stub> stubs) throws IOException {
        java.util.ArrayList<SyscallBatch.Call> calls = new java.util.ArrayList<>(stubs.size());
        for (Stub s : stubs) {
            calls.add(s.in(s.pid, s.scratch, SCRATCH_SIZE));
        }
        long[] rcs = SyscallBatch.inject(Syscalls.MUNMAP, calls);
        for (int i = 0; i < rcs.length; i++) {
            Stub s = stubs.get(i);
            s.injected++;
            if (Syscalls.isError(rcs[i])) {
                int errno = Syscalls.errno(rcs[i]);
                throw new RestoreException("injected munmap of the scratch area in process " + s.pid + " failed: "
                        + Errno.name(errno) + " (" + Errno.text(errno) + ")");
            }
            s.scratch = 0;
        }
    }

    void unmapScratch() throws IOException {
        call("munmap", Syscalls.MUNMAP, scratch, SCRATCH_SIZE);
        scratch = 0;
    }

    /** Where the next {@link #put} goes in the scratch area. */
    long cursor() {
        return cursor;
    }

    /** Starts filling the scratch area from its beginning again. */
    @Override
    public void resetScratch() {
        cursor = scratch;
    }

    /** Copies a NUL-terminated string into the scratch area; returns its address there. */
    @Override
    public long putString(String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocateDirect(b.length + 1);
        buf.put(b).put((byte) 0).flip();
        return put(buf);
    }

    /** Copies the remaining bytes of {@code buf} (direct) into the scratch area, 8-aligned. */
    @Override
    public long put(ByteBuffer buf) throws IOException {
        long at = cursor;
        long next = (at + buf.remaining() + 7) & -8L;
        if (next > scratch + SCRATCH_SIZE) {
            throw new RestoreException("scratch area full (" + buf.remaining() + " more bytes)");
        }
        ProcessMemory.write(pid, at, buf);
        cursor = next;
        return at;
    }

    @Override
    public void read(long address, ByteBuffer dst) throws IOException {
        ProcessMemory.read(pid, address, dst);
    }

    /** The calls in one stop ({@link SyscallRun#run}): its scratch area must be mapped. */
    @Override
    public long[] runAll(List<SyscallRun.Call> calls) throws IOException {
        return SyscallRun.run(this, calls);
    }

    /** A direct native-order buffer for building a struct to {@link #put}. */
    static ByteBuffer struct(int size) {
        return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }
}
