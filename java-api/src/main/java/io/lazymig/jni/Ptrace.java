package io.lazymig.jni;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * ptrace(2) requests and waitpid(2) for tracees: spawning an executable stopped under ptrace,
 * seizing and interrupting a running process, register sets, the signal mask, the rseq
 * configuration, resuming and detaching. Mechanism only: the caller decides what to do.
 *
 * <p><b>Thread affinity.</b> The kernel makes the <em>thread</em> that spawned or seized a tracee
 * its tracer, not the process: every later ptrace request for that tracee must come from the
 * same Java thread, or it fails with ESRCH as if the tracee did not exist (ARCHITECTURE
 * invariant 5: one dedicated thread per tracee). When that thread ends, a tracee with
 * {@link #O_EXITKILL} is killed and any other is detached. waitpid for a tracee works from any
 * thread of this JVM, but should also stay on the tracer thread so no stop is consumed by
 * someone else.
 *
 * <p>Errors of the kernel come back as {@link NativeException} naming the request and the pid,
 * e.g. {@code ptrace(PTRACE_GETREGSET, 12345): ESRCH (No such process)}; bad arguments are
 * refused with {@link IllegalArgumentException} before reaching C.
 */
public final class Ptrace {
    static {
        NativeLibrary.load();
    }

    public static final int O_TRACESYSGOOD = (int) constant("PTRACE_O_TRACESYSGOOD");
    public static final int O_EXITKILL = (int) constant("PTRACE_O_EXITKILL");
    public static final int O_TRACEEXEC = (int) constant("PTRACE_O_TRACEEXEC");
    public static final int O_TRACEEXIT = (int) constant("PTRACE_O_TRACEEXIT");
    public static final int O_TRACEFORK = (int) constant("PTRACE_O_TRACEFORK");
    public static final int O_TRACEVFORK = (int) constant("PTRACE_O_TRACEVFORK");
    public static final int O_TRACECLONE = (int) constant("PTRACE_O_TRACECLONE");

    public static final int EVENT_FORK = (int) constant("PTRACE_EVENT_FORK");
    public static final int EVENT_VFORK = (int) constant("PTRACE_EVENT_VFORK");
    public static final int EVENT_CLONE = (int) constant("PTRACE_EVENT_CLONE");
    public static final int EVENT_EXEC = (int) constant("PTRACE_EVENT_EXEC");
    public static final int EVENT_VFORK_DONE = (int) constant("PTRACE_EVENT_VFORK_DONE");
    public static final int EVENT_EXIT = (int) constant("PTRACE_EVENT_EXIT");
    public static final int EVENT_SECCOMP = (int) constant("PTRACE_EVENT_SECCOMP");
    /** Group-stop or PTRACE_INTERRUPT stop of a seized tracee. */
    public static final int EVENT_STOP = (int) constant("PTRACE_EVENT_STOP");

    /** The stop signal of a syscall-stop under {@link #O_TRACESYSGOOD}: SIGTRAP|0x80. */
    public static final int SYSCALL_STOP_SIGNAL = (int) constant("SYSCALL_STOP_SIGNAL");

    /** The options a traced child gets by default: syscall-stops told apart, killed with its tracer. */
    public static final int DEFAULT_OPTIONS = O_TRACESYSGOOD | O_EXITKILL;

    /** Register-set types for {@code PTRACE_GETREGSET}. */
    public static final int NT_PRSTATUS = (int) constant("NT_PRSTATUS");
    public static final int NT_X86_XSTATE = (int) constant("NT_X86_XSTATE");

    /**
     * A buffer of this size holds any {@code NT_X86_XSTATE} of this CPU (CPUID leaf 0xD, at least
     * 16 KiB); the kernel fills the part XCR0 enables ({@link Cpuid#enabledXfeatures()}).
     */
    public static final int XSTATE_BUFFER_SIZE = (int) nativeXstateBufferSize();

    /** The kernel's sigset size that GETSIGMASK/SETSIGMASK take (8; glibc's 128 gives EINVAL). */
    public static final int KERNEL_SIGSET_SIZE = (int) constant("KERNEL_SIGSET_SIZE");
    /**
     * Kernel-internal restart codes (positive): {@code rax == -code} in a task stopped inside an
     * interrupted syscall. Whoever resumes such a task decides how the syscall restarts.
     */
    public static final int ERESTARTSYS = (int) constant("ERESTARTSYS");
    public static final int ERESTARTNOINTR = (int) constant("ERESTARTNOINTR");
    public static final int ERESTARTNOHAND = (int) constant("ERESTARTNOHAND");
    public static final int ERESTART_RESTARTBLOCK = (int) constant("ERESTART_RESTARTBLOCK");

    static final int WALL = (int) constant("__WALL");
    static final int WNOHANG = (int) constant("WNOHANG");

    private static final int PTRACE_CONT = (int) constant("PTRACE_CONT");
    private static final int PTRACE_SYSCALL = (int) constant("PTRACE_SYSCALL");
    private static final int PTRACE_DETACH = (int) constant("PTRACE_DETACH");
    private static final int PTRACE_INTERRUPT = (int) constant("PTRACE_INTERRUPT");
    private static final int PTRACE_LISTEN = (int) constant("PTRACE_LISTEN");
    private static final int PTRACE_SETOPTIONS = (int) constant("PTRACE_SETOPTIONS");
    private static final int PTRACE_SEIZE = (int) constant("PTRACE_SEIZE");

    private static final int SPAWN_PIPE = (int) constant("SPAWN_PIPE");
    private static final int SPAWN_FORK = (int) constant("SPAWN_FORK");
    private static final int SPAWN_SIGACTION = (int) constant("SPAWN_SIGACTION");
    private static final int SPAWN_SIGPROCMASK = (int) constant("SPAWN_SIGPROCMASK");
    private static final int SPAWN_DUP = (int) constant("SPAWN_DUP");
    private static final int SPAWN_CLOSE_RANGE = (int) constant("SPAWN_CLOSE_RANGE");
    private static final int SPAWN_TRACEME = (int) constant("SPAWN_TRACEME");
    private static final int SPAWN_EXECVE = (int) constant("SPAWN_EXECVE");
    private static final int SPAWN_WAIT = (int) constant("SPAWN_WAIT");
    private static final int SPAWN_INITIAL_STOP = (int) constant("SPAWN_INITIAL_STOP");
    private static final int SPAWN_SETOPTIONS = (int) constant("SPAWN_SETOPTIONS");

    private static final int RSEQ_CONFIGURATION_SIZE = (int) constant("RSEQ_CONFIGURATION_SIZE");
    /** sizeof(siginfo_t): one entry of {@link #peekSiginfo}. */
    public static final int SIGINFO_SIZE = (int) constant("SIGINFO_SIZE");
    /** How many siginfos one PTRACE_PEEKSIGINFO asks for. */
    private static final int PEEK_BATCH = 32;
    private static final int DECODED_COUNT = (int) constant("DECODED_COUNT");

    private Ptrace() {
    }

    /** The rseq registration of a tracee, as {@code PTRACE_GET_RSEQ_CONFIGURATION} reports it. */
    public record RseqConfiguration(long abiPointer, int abiSize, int signature, int flags) {
        /** No rseq area registered (pointer and size 0). */
        public boolean registered() {
            return abiPointer != 0 || abiSize != 0;
        }

        @Override
        public String toString() {
            return "rseq(ptr=0x" + Long.toHexString(abiPointer) + ", size=" + abiSize + ", sig=0x"
                    + Integer.toHexString(signature) + ", flags=" + flags + ")";
        }
    }

    /**
     * A tracee stopped where the caller did not expect it (a signal-delivery-stop, an exit, a
     * group-stop...). The stop is left as it is: {@link #status()} tells what the tracee is in.
     */
    public static final class UnexpectedStopException extends java.io.IOException {
        private static final long serialVersionUID = 1L;
        private final transient WaitStatus status;

        public UnexpectedStopException(String expected, WaitStatus status) {
            super("expected " + expected + ", got " + status);
            this.status = status;
        }

        public WaitStatus status() {
            return status;
        }
    }

    /** {@link #spawnTraced(String, String[], String[], FileDescriptor, FileDescriptor, FileDescriptor, int)} inheriting stdio. */
    public static int spawnTraced(String path, String[] argv, String[] envp, int options)
            throws NativeException, UnexpectedStopException {
        return spawnTraced(path, argv, envp, null, null, null, options);
    }

    /**
     * Starts {@code path} as a child stopped under ptrace before its first instruction: fork, then
     * in the child default signal dispositions and an empty signal mask (a JVM thread's mask would
     * survive execve), 0..2 redirected to the given fds ({@code null}: inherit the JVM's), every
     * other fd closed, {@code PTRACE_TRACEME} and execve. The parent waits for the exec SIGTRAP
     * stop and sets {@code options} (e.g. {@link #DEFAULT_OPTIONS}). The calling thread is the
     * tracer (see the class comment).
     *
     * @return the pid, stopped in the exec SIGTRAP stop (resume it with signal 0)
     * @throws NativeException naming the failed step, e.g. {@code execve(/no/such): ENOENT (...)}
     * @throws UnexpectedStopException when the child did not reach the exec stop (it is reaped)
     */
    public static int spawnTraced(String path, String[] argv, String[] envp, FileDescriptor stdin,
            FileDescriptor stdout, FileDescriptor stderr, int options) throws NativeException, UnexpectedStopException {
        return spawnTraced(path, argv, envp, stdin, stdout, stderr, options, 0);
    }

    /**
     * As {@link #spawnTraced(String, String[], String[], FileDescriptor, FileDescriptor, FileDescriptor, int)},
     * with the child's pid chosen: {@code pid > 0} forks with clone3's set_tid (needs
     * CAP_SYS_ADMIN in the pid namespace); a pid already taken fails with EEXIST naming clone3.
     * {@code pid == 0}: any pid.
     */
    public static int spawnTraced(String path, String[] argv, String[] envp, FileDescriptor stdin,
            FileDescriptor stdout, FileDescriptor stderr, int options, int pid)
            throws NativeException, UnexpectedStopException {
        if (pid < 0) {
            throw new IllegalArgumentException("spawnTraced: bad pid " + pid);
        }
        Objects.requireNonNull(path, "path");
        checkStrings("argv", argv);
        checkStrings("envp", envp);
        if (path.isEmpty() || path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("spawnTraced: bad path '" + path + "'");
        }
        int[] failure = new int[3];
        int rc = nativeSpawn(path, argv, envp, fdOrInherit(stdin), fdOrInherit(stdout), fdOrInherit(stderr), options,
                pid, failure);
        if (rc >= 0) {
            return rc;
        }
        int stage = failure[0];
        if (stage == SPAWN_INITIAL_STOP) {
            throw new UnexpectedStopException("the exec SIGTRAP stop of " + path, WaitStatus.of(failure[2], failure[1]));
        }
        throw new NativeException(stage == SPAWN_FORK && pid > 0 ? "clone3(set_tid=" + pid + ")"
                : spawnStep(stage, path, options), -rc);
    }

    private static String spawnStep(int stage, String path, int options) {
        if (stage == SPAWN_PIPE) {
            return "spawnTraced(" + path + "): pipe2";
        } else if (stage == SPAWN_FORK) {
            return "spawnTraced(" + path + "): fork";
        } else if (stage == SPAWN_SIGACTION) {
            return "spawnTraced(" + path + "): child sigaction(SIG_DFL)";
        } else if (stage == SPAWN_SIGPROCMASK) {
            return "spawnTraced(" + path + "): child rt_sigprocmask(SIG_SETMASK, {})";
        } else if (stage == SPAWN_DUP) {
            return "spawnTraced(" + path + "): child dup2 of a stdio fd";
        } else if (stage == SPAWN_CLOSE_RANGE) {
            return "spawnTraced(" + path + "): child close_range";
        } else if (stage == SPAWN_TRACEME) {
            return "spawnTraced(" + path + "): child ptrace(PTRACE_TRACEME)";
        } else if (stage == SPAWN_EXECVE) {
            return "execve(" + path + ")";
        } else if (stage == SPAWN_WAIT) {
            return "spawnTraced(" + path + "): waitpid for the exec stop";
        } else if (stage == SPAWN_SETOPTIONS) {
            return "ptrace(PTRACE_SETOPTIONS, 0x" + Integer.toHexString(options) + ") of " + path;
        }
        return "spawnTraced(" + path + "): step " + stage;
    }

    private static void checkStrings(String what, String[] values) {
        Objects.requireNonNull(values, what);
        for (String v : values) {
            if (v == null || v.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("spawnTraced: " + what + " holds a null or a NUL character");
            }
        }
    }

    private static int fdOrInherit(FileDescriptor fd) throws NativeException {
        return fd == null ? -1 : fd.fd();
    }

    /**
     * {@code PTRACE_SEIZE} with {@code options}: attaches without stopping the process. Stop it
     * with {@link #interrupt(int)} and wait for the {@link WaitStatus#isInterruptStop()}.
     */
    public static void seize(int pid, int options) throws NativeException {
        request(PTRACE_SEIZE, "PTRACE_SEIZE", pid, 0, options);
    }

    /** {@code PTRACE_INTERRUPT} of a seized tracee (EIO for one attached by TRACEME). */
    public static void interrupt(int pid) throws NativeException {
        request(PTRACE_INTERRUPT, "PTRACE_INTERRUPT", pid, 0, 0);
    }

    /** {@code PTRACE_SETOPTIONS}. */
    public static void setOptions(int pid, int options) throws NativeException {
        request(PTRACE_SETOPTIONS, "PTRACE_SETOPTIONS", pid, 0, options);
    }

    /** {@code PTRACE_CONT} delivering {@code signal} (0: none, the stop's signal is suppressed). */
    public static void cont(int pid, int signal) throws NativeException {
        request(PTRACE_CONT, "PTRACE_CONT", pid, 0, checkSignal(signal));
    }

    /** {@code PTRACE_SYSCALL}: resume until the next syscall entry or exit, delivering {@code signal}. */
    public static void syscall(int pid, int signal) throws NativeException {
        request(PTRACE_SYSCALL, "PTRACE_SYSCALL", pid, 0, checkSignal(signal));
    }

    /** {@code PTRACE_LISTEN}: leave a seized tracee in its group-stop but report further changes. */
    public static void listen(int pid) throws NativeException {
        request(PTRACE_LISTEN, "PTRACE_LISTEN", pid, 0, 0);
    }

    /** {@code PTRACE_DETACH} delivering {@code signal}; the tracee runs on. */
    public static void detach(int pid, int signal) throws NativeException {
        request(PTRACE_DETACH, "PTRACE_DETACH", pid, 0, checkSignal(signal));
    }

    /** {@code PTRACE_GETEVENTMSG}: the pid of a new child, the exit status at EVENT_EXIT, ... */
    public static long getEventMessage(int pid) throws NativeException {
        long[] out = new long[1];
        NativeException.check(call("PTRACE_GETEVENTMSG", pid), nativeGetEventMsg(checkPid(pid), out));
        return out[0];
    }

    /** {@code PTRACE_PEEKDATA}: one 8-byte word of the tracee at {@code address}. */
    public static long peekData(int pid, long address) throws NativeException {
        long[] out = new long[1];
        NativeException.check(call("PTRACE_PEEKDATA", pid) + " at 0x" + Long.toHexString(address),
                nativePeek(checkPid(pid), address, out));
        return out[0];
    }

    /** {@code PTRACE_POKEDATA}: writes one 8-byte word into the tracee (read-only pages too). */
    public static void pokeData(int pid, long address, long word) throws NativeException {
        NativeException.check(call("PTRACE_POKEDATA", pid) + " at 0x" + Long.toHexString(address),
                nativePoke(checkPid(pid), address, word));
    }

    /** waitpid(pid, __WALL): blocks until the tracee or child changes state. */
    public static WaitStatus waitpid(int pid) throws NativeException {
        return waitpid(pid, 0).orElseThrow(); // without WNOHANG the kernel always reports one
    }

    /** waitpid(pid, __WALL | WNOHANG): the state change if there is one, else empty. */
    public static Optional<WaitStatus> poll(int pid) throws NativeException {
        return waitpid(pid, WNOHANG);
    }

    private static Optional<WaitStatus> waitpid(int pid, int flags) throws NativeException {
        int[] status = new int[1];
        int rc = NativeException.check("waitpid(" + pid + ", __WALL" + (flags != 0 ? "|WNOHANG" : "") + ")",
                nativeWaitpid(checkPid(pid), WALL | flags, status));
        return rc == 0 ? Optional.empty() : Optional.of(WaitStatus.of(rc, status[0]));
    }

    /**
     * SIGKILLs {@code pid} and waits (with __WALL) until it has exited, skipping any stops still
     * reported on the way. For cleanup of a child or tracee; returns the final status, or empty
     * when this process cannot wait for it (ECHILD: not our child, not our tracee).
     */
    public static Optional<WaitStatus> killAndReap(int pid) throws NativeException {
        try {
            SystemInfo.kill(checkPid(pid), SystemInfo.SIGKILL);
        } catch (NativeException e) {
            if (e.errno() != Errno.ESRCH) {
                throw e;
            }
        }
        while (true) {
            WaitStatus s;
            try {
                s = waitpid(pid);
            } catch (NativeException e) {
                if (e.errno() == Errno.ECHILD) {
                    return Optional.empty();
                }
                throw e;
            }
            if (s.exited() || s.signaled()) {
                return Optional.of(s);
            }
            if (s.stopped()) { // a stop reported before the kill took effect: let it die
                nativeRequest(PTRACE_CONT, pid, 0, 0);
            }
        }
    }

    /** The general-purpose registers ({@code NT_PRSTATUS}) of a stopped tracee. */
    public static Registers getRegisters(int pid) throws NativeException {
        Registers regs = Registers.allocate();
        getRegisters(pid, regs);
        return regs;
    }

    /** Reads the general-purpose registers into {@code into}. */
    public static void getRegisters(int pid, Registers into) throws NativeException {
        long len;
        try {
            len = NativeException.check(call("PTRACE_GETREGSET", pid),
                    nativeGetRegset(checkPid(pid), NT_PRSTATUS, into.address(), Registers.SIZE));
        } finally {
            Reference.reachabilityFence(into); // its direct buffer must outlive the native call
        }
        if (len != Registers.SIZE) {
            throw new NativeException(call("PTRACE_GETREGSET", pid) + " filled " + len + " of " + Registers.SIZE
                    + " bytes of NT_PRSTATUS", Errno.EIO);
        }
    }

    /** Writes all general-purpose registers, {@code fs_base} and {@code gs_base} included. */
    public static void setRegisters(int pid, Registers regs) throws NativeException {
        try {
            NativeException.check(call("PTRACE_SETREGSET", pid),
                    nativeSetRegset(checkPid(pid), NT_PRSTATUS, regs.address(), Registers.SIZE));
        } finally {
            Reference.reachabilityFence(regs);
        }
    }

    /**
     * The tracee's XSAVE area ({@code NT_X86_XSTATE}) in a new direct buffer: position 0, limit
     * the length the kernel filled. Give exactly that back to {@link #setXstate(int, ByteBuffer)}.
     */
    public static ByteBuffer getXstate(int pid) throws NativeException {
        ByteBuffer buf = ByteBuffer.allocateDirect(XSTATE_BUFFER_SIZE).order(ByteOrder.nativeOrder());
        int len = getXstate(pid, buf);
        buf.limit(len);
        return buf;
    }

    /**
     * Reads the XSAVE area into {@code into} from its position (direct, at least
     * {@link #XSTATE_BUFFER_SIZE} remaining); returns the length filled, position unchanged.
     */
    public static int getXstate(int pid, ByteBuffer into) throws NativeException {
        if (into.remaining() < XSTATE_BUFFER_SIZE) {
            throw new IllegalArgumentException("getXstate: need " + XSTATE_BUFFER_SIZE + " bytes, buffer has "
                    + into.remaining());
        }
        long address = Buffers.address(into) + into.position();
        try {
            return (int) NativeException.check(call("PTRACE_GETREGSET", pid) + " NT_X86_XSTATE",
                    nativeGetRegset(checkPid(pid), NT_X86_XSTATE, address, into.remaining()));
        } finally {
            Reference.reachabilityFence(into);
        }
    }

    /** Sets the XSAVE area from exactly {@code xstate}'s remaining bytes (direct buffer). */
    public static void setXstate(int pid, ByteBuffer xstate) throws NativeException {
        if (!xstate.hasRemaining() || xstate.remaining() > XSTATE_BUFFER_SIZE) {
            throw new IllegalArgumentException("setXstate: bad length " + xstate.remaining());
        }
        long address = Buffers.address(xstate) + xstate.position();
        try {
            NativeException.check(call("PTRACE_SETREGSET", pid) + " NT_X86_XSTATE",
                    nativeSetRegset(checkPid(pid), NT_X86_XSTATE, address, xstate.remaining()));
        } finally {
            Reference.reachabilityFence(xstate);
        }
    }

    /** The tracee's blocked-signal mask: bit {@link #sigmaskBit(int)} set for each blocked signal. */
    public static long getSigmask(int pid) throws NativeException {
        long[] out = new long[1];
        NativeException.check(call("PTRACE_GETSIGMASK", pid), nativeGetSigmask(checkPid(pid), out));
        return out[0];
    }

    /** Sets the tracee's blocked-signal mask (SIGKILL and SIGSTOP bits are ignored by the kernel). */
    public static void setSigmask(int pid, long mask) throws NativeException {
        NativeException.check(call("PTRACE_SETSIGMASK", pid), nativeSetSigmask(checkPid(pid), mask));
    }

    /** The bit of {@code signal} in a mask of {@link #getSigmask(int)}. */
    public static long sigmaskBit(int signal) {
        long bit = nativeSigmaskBit(signal);
        if (bit == 0) {
            throw new IllegalArgumentException("no such signal: " + signal);
        }
        return bit;
    }

    /** {@code PTRACE_GET_RSEQ_CONFIGURATION}: where the tracee registered its rseq area, if anywhere. */
    public static RseqConfiguration getRseqConfiguration(int pid) throws NativeException {
        long[] out = new long[4];
        int len = NativeException.check(call("PTRACE_GET_RSEQ_CONFIGURATION", pid), nativeGetRseq(checkPid(pid), out));
        if (len != RSEQ_CONFIGURATION_SIZE) {
            throw new NativeException(call("PTRACE_GET_RSEQ_CONFIGURATION", pid) + " returned " + len + " bytes, not "
                    + RSEQ_CONFIGURATION_SIZE, Errno.EIO);
        }
        return new RseqConfiguration(out[0], (int) out[1], (int) out[2], (int) out[3]);
    }

    /** A task's robust futex list: the head address and the length get_robust_list(2) reports. */
    public record RobustList(long head, long length) {
    }

    /** get_robust_list(2) of another task (by pid; needs ptrace access to it). */
    public static RobustList getRobustList(int pid) throws NativeException {
        long[] out = new long[2];
        NativeException.check("get_robust_list(" + pid + ")", nativeGetRobustList(pid, out));
        return new RobustList(out[0], out[1]);
    }

    /**
     * {@code PTRACE_PEEKSIGINFO}: the siginfos queued for a stopped tracee, in queue order, without
     * dequeuing them: its own (private) queue, or with {@code shared} the queue of its whole
     * process. Each is {@link #SIGINFO_SIZE} bytes, as the kernel copies a siginfo_t to user space.
     * A signal the kernel could not queue a siginfo for (out of memory) is pending but not listed.
     */
    public static List<byte[]> peekSiginfo(int pid, boolean shared) throws NativeException {
        ByteBuffer buf = ByteBuffer.allocateDirect(PEEK_BATCH * SIGINFO_SIZE);
        List<byte[]> out = new ArrayList<>();
        while (true) {
            int n;
            try {
                n = NativeException.check(call("PTRACE_PEEKSIGINFO" + (shared ? " SHARED" : ""), pid),
                        nativePeekSiginfo(checkPid(pid), shared, out.size(), PEEK_BATCH, Buffers.address(buf)));
            } finally {
                Reference.reachabilityFence(buf);
            }
            for (int i = 0; i < n; i++) {
                byte[] one = new byte[SIGINFO_SIZE];
                buf.get(i * SIGINFO_SIZE, one);
                out.add(one);
            }
            if (n < PEEK_BATCH) {
                return out;
            }
        }
    }

    /** "SIGTRAP" for SIGTRAP, "signal 40" for one without a name. */
    public static String signalName(int signal) {
        String n = signal > 0 ? nativeSignalName(signal) : null;
        return n != null ? n : "signal " + signal;
    }

    /** The number of syscall {@code name} ("getpid", "mmap", ...) on this architecture. */
    public static int syscallNumber(String name) {
        Objects.requireNonNull(name, "name");
        try {
            return (int) syscallConstant("SYS_" + name);
        } catch (NoSuchFieldError e) {
            throw new IllegalArgumentException("unknown syscall name: " + name, e);
        }
    }

    /** Layout facts and shim values for WaitStatus, Registers and SyscallInjector. */
    static long layout(String name) {
        return constant(name);
    }

    /** Syscall numbers and argument flags for Syscalls. */
    static long syscallValue(String name) {
        return syscallConstant(name);
    }

    static int[] decodeStatus(int status) {
        int[] out = new int[DECODED_COUNT];
        nativeDecodeStatus(status, out);
        return out;
    }

    static int makeStatus(int kind, int value, int event) {
        return nativeMakeStatus(kind, value, event);
    }

    private static void request(int request, String name, int pid, long addr, long data) throws NativeException {
        NativeException.check(call(name, pid), nativeRequest(request, checkPid(pid), addr, data));
    }

    private static String call(String request, int pid) {
        return "ptrace(" + request + ", " + pid + ")";
    }

    private static int checkPid(int pid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("not a process id: " + pid);
        }
        return pid;
    }

    private static int checkSignal(int signal) {
        if (signal < 0 || signal >= SystemInfo.NSIG) {
            throw new IllegalArgumentException("not a signal: " + signal);
        }
        return signal;
    }

    private static native long constant(String name);

    private static native long syscallConstant(String name);

    private static native long nativeXstateBufferSize();

    private static native int nativeSpawn(String path, String[] argv, String[] envp, int stdin, int stdout, int stderr,
            int options, int pid, int[] failure);

    private static native int nativeRequest(int request, int pid, long addr, long data);

    private static native int nativeWaitpid(int pid, int flags, int[] status);

    private static native void nativeDecodeStatus(int status, int[] out);

    private static native int nativeMakeStatus(int kind, int value, int event);

    private static native long nativeGetRegset(int pid, int type, long address, long len);

    private static native int nativeSetRegset(int pid, int type, long address, long len);

    private static native int nativeGetSigmask(int pid, long[] out);

    private static native int nativeSetSigmask(int pid, long mask);

    private static native long nativeSigmaskBit(int signal);

    private static native int nativeGetRseq(int pid, long[] out);

    private static native int nativeGetEventMsg(int pid, long[] out);

    private static native int nativePeek(int pid, long address, long[] out);

    private static native int nativePoke(int pid, long address, long word);

    private static native String nativeSignalName(int signal);

    private static native int nativeGetRobustList(int pid, long[] out);

    private static native int nativePeekSiginfo(int pid, boolean shared, long offset, int nr, long address);
}
