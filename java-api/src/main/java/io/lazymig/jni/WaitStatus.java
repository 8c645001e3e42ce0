package io.lazymig.jni;

/**
 * One state change reported by waitpid(2): the pid, the raw status, and its meaning as the C
 * macros (WIFEXITED, WSTOPSIG, ...) decode it. The decoding is done in C, so the bit layout is
 * never restated in Java. The kinds of ptrace stop:
 * <ul>
 * <li>syscall-stop: stop signal {@link Ptrace#SYSCALL_STOP_SIGNAL} (needs O_TRACESYSGOOD);</li>
 * <li>event stop: {@link #event()} non-zero, e.g. {@link Ptrace#EVENT_EXIT};</li>
 * <li>{@link Ptrace#EVENT_STOP} with SIGTRAP: a PTRACE_INTERRUPT stop; with another signal: the
 * group-stop of a seized tracee;</li>
 * <li>otherwise a signal-delivery-stop (or, for a tracee attached by TRACEME, possibly a
 * group-stop, which only PTRACE_GETSIGINFO tells apart).</li>
 * </ul>
 */
public final class WaitStatus {
    private static final int EXITED = index("DECODED_EXITED");
    private static final int EXIT_STATUS = index("DECODED_EXIT_STATUS");
    private static final int SIGNALED = index("DECODED_SIGNALED");
    private static final int TERM_SIGNAL = index("DECODED_TERM_SIGNAL");
    private static final int CORE_DUMP = index("DECODED_CORE_DUMP");
    private static final int STOPPED = index("DECODED_STOPPED");
    private static final int STOP_SIGNAL = index("DECODED_STOP_SIGNAL");
    private static final int CONTINUED = index("DECODED_CONTINUED");
    private static final int EVENT = index("DECODED_EVENT");

    private static final int KIND_EXITED = index("STATUS_EXITED");
    private static final int KIND_SIGNALED = index("STATUS_SIGNALED");
    private static final int KIND_STOPPED = index("STATUS_STOPPED");
    private static final int KIND_CONTINUED = index("STATUS_CONTINUED");

    private final int pid;
    private final int raw;
    private final int[] decoded;

    private WaitStatus(int pid, int raw) {
        this.pid = pid;
        this.raw = raw;
        this.decoded = Ptrace.decodeStatus(raw);
    }

    private static int index(String name) {
        return (int) Ptrace.layout(name);
    }

    /** Decodes the raw {@code status} waitpid reported for {@code pid}. */
    public static WaitStatus of(int pid, int status) {
        return new WaitStatus(pid, status);
    }

    /** The status of an exit with {@code code}, built by the C macros (tests, documentation). */
    static WaitStatus exitedWith(int pid, int code) {
        return of(pid, Ptrace.makeStatus(KIND_EXITED, code, 0));
    }

    /** The status of a death by {@code signal}, built by the C macros. */
    static WaitStatus killedBy(int pid, int signal) {
        return of(pid, Ptrace.makeStatus(KIND_SIGNALED, signal, 0));
    }

    /** The status of a stop with {@code signal} and ptrace {@code event} (0: none), as the kernel builds it. */
    static WaitStatus stoppedBy(int pid, int signal, int event) {
        return of(pid, Ptrace.makeStatus(KIND_STOPPED, signal, event));
    }

    /** The status of a SIGCONT resumption (WCONTINUED). */
    static WaitStatus continuedStatus(int pid) {
        return of(pid, Ptrace.makeStatus(KIND_CONTINUED, 0, 0));
    }

    public int pid() {
        return pid;
    }

    /** The status word as waitpid returned it. */
    public int raw() {
        return raw;
    }

    /** WIFEXITED. */
    public boolean exited() {
        return decoded[EXITED] != 0;
    }

    /** WEXITSTATUS, meaningful when {@link #exited()}. */
    public int exitCode() {
        return decoded[EXIT_STATUS];
    }

    /** WIFSIGNALED: killed by a signal. */
    public boolean signaled() {
        return decoded[SIGNALED] != 0;
    }

    /** WTERMSIG, meaningful when {@link #signaled()}. */
    public int termSignal() {
        return decoded[TERM_SIGNAL];
    }

    /** WCOREDUMP. */
    public boolean coreDumped() {
        return decoded[CORE_DUMP] != 0;
    }

    /** WIFSTOPPED: some kind of stop (for a tracee: a ptrace-stop). */
    public boolean stopped() {
        return decoded[STOPPED] != 0;
    }

    /** WSTOPSIG: the stop signal, {@link Ptrace#SYSCALL_STOP_SIGNAL} for a syscall-stop. */
    public int stopSignal() {
        return decoded[STOP_SIGNAL];
    }

    /** WIFCONTINUED. */
    public boolean continued() {
        return decoded[CONTINUED] != 0;
    }

    /** The ptrace event of a stop ({@code status >> 16}), 0 for none. */
    public int event() {
        return stopped() ? decoded[EVENT] : 0;
    }

    /** The process is gone (exited or killed): no more stops will come. */
    public boolean terminated() {
        return exited() || signaled();
    }

    /** A syscall-entry or syscall-exit stop (under O_TRACESYSGOOD). */
    public boolean isSyscallStop() {
        return stopped() && event() == 0 && stopSignal() == Ptrace.SYSCALL_STOP_SIGNAL;
    }

    /** A stop for ptrace event {@code which} (e.g. {@link Ptrace#EVENT_EXIT}). */
    public boolean isEvent(int which) {
        return stopped() && which != 0 && event() == which;
    }

    /** The stop that PTRACE_INTERRUPT produces: EVENT_STOP with SIGTRAP. */
    public boolean isInterruptStop() {
        return isEvent(Ptrace.EVENT_STOP) && stopSignal() == SystemInfo.SIGTRAP;
    }

    /** The group-stop of a seized tracee: EVENT_STOP with the stopping signal. */
    public boolean isGroupStop() {
        return isEvent(Ptrace.EVENT_STOP) && stopSignal() != SystemInfo.SIGTRAP;
    }

    /** A stop with a plain signal and no event: a signal-delivery-stop (see the class comment). */
    public boolean isSignalStop() {
        return stopped() && event() == 0 && stopSignal() != Ptrace.SYSCALL_STOP_SIGNAL;
    }

    /** What happened, for messages: "pid 42 exited with 3", "pid 42 syscall-stop", ... */
    public String describe() {
        String who = "pid " + pid + " ";
        if (exited()) {
            return who + "exited with " + exitCode();
        }
        if (signaled()) {
            return who + "killed by " + Ptrace.signalName(termSignal()) + (coreDumped() ? " (core dumped)" : "");
        }
        if (continued()) {
            return who + "continued";
        }
        if (isSyscallStop()) {
            return who + "syscall-stop";
        }
        if (isInterruptStop()) {
            return who + "interrupt-stop (PTRACE_EVENT_STOP, SIGTRAP)";
        }
        if (isGroupStop()) {
            return who + "group-stop by " + Ptrace.signalName(stopSignal()) + " (PTRACE_EVENT_STOP)";
        }
        if (stopped() && event() != 0) {
            return who + "ptrace event " + event() + " stop (" + Ptrace.signalName(stopSignal()) + ")";
        }
        if (stopped()) {
            return who + "signal-delivery-stop " + Ptrace.signalName(stopSignal());
        }
        return who + "status 0x" + Integer.toHexString(raw);
    }

    @Override
    public String toString() {
        return describe() + " [0x" + Integer.toHexString(raw) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WaitStatus && ((WaitStatus) o).pid == pid && ((WaitStatus) o).raw == raw;
    }

    @Override
    public int hashCode() {
        return 31 * pid + raw;
    }
}
