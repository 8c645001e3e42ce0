package io.lazymig.jni;

import java.util.ArrayList;
import java.util.List;

/**
 * One syscall injected into many stopped tracees at once (KERNEL-FACTS §3.1, as
 * {@link SyscallInjector} does for one): every tracee is set up and resumed to its syscall-entry
 * stop before the first is waited for, then all are resumed to their exit stops, then all are
 * waited for. Injected one after another, each syscall costs two round trips through the
 * scheduler (resume, wait for the stop) during which the tracer sits idle; here the tracees' trips
 * overlap the tracer's requests, so N threads cost about the tracer's own work, not N times the
 * latency (a process with 100 threads: one per-thread state kind at a time, for all of them).
 *
 * <p>Mechanism only, like {@link SyscallInjector}: nothing is saved or restored, and each tracee is
 * left in its syscall-exit stop with {@code rip} after the instruction. Must be used from the
 * tracer thread; every tracee must be in a ptrace-stop with O_TRACESYSGOOD set. Not for syscalls
 * that create tasks or stop in events.
 */
public final class SyscallBatch {
    /** One tracee's syscall: its tid, the {@code 0f 05} it runs, and the arguments (missing ones 0). */
    public record Call(int tid, long syscallAddress, long... args) {
        public Call {
            if (tid <= 0) {
                throw new IllegalArgumentException("not a thread id: " + tid);
            }
            if (syscallAddress == 0) {
                throw new IllegalArgumentException("syscall instruction address 0");
            }
            if (args.length > 6) {
                throw new IllegalArgumentException("a syscall takes at most 6 arguments, got " + args.length);
            }
            args = args.clone();
        }
    }

    private SyscallBatch() {
    }

    /**
     * Injects syscall {@code nr} into every tracee of {@code calls} (distinct tids) and returns the
     * raw results in the same order (values, or -errno).
     *
     * @throws Ptrace.UnexpectedStopException when a tracee stops otherwise or enters another
     *         syscall; the other tracees are still waited for first, so none is left running
     * @throws NativeException when a ptrace request fails; the tracees already resumed are waited for
     */
    public static long[] inject(int nr, List<Call> calls) throws NativeException, Ptrace.UnexpectedStopException {
        if (nr < 0) {
            throw new IllegalArgumentException("negative syscall number " + nr);
        }
        int n = calls.size();
        Registers regs = Registers.allocate();
        List<Call> running = new ArrayList<>(n);
        try {
            for (Call c : calls) {
                Ptrace.getRegisters(c.tid(), regs);
                regs.setRip(c.syscallAddress()).setRax(nr).setOrigRax(-1)
                        .setRdi(arg(c, 0)).setRsi(arg(c, 1)).setRdx(arg(c, 2))
                        .setR10(arg(c, 3)).setR8(arg(c, 4)).setR9(arg(c, 5));
                Ptrace.setRegisters(c.tid(), regs);
                Ptrace.syscall(c.tid(), 0);
                running.add(c);
            }
        } finally {
            if (running.size() < n) {
                // a request failed: the ones resumed still must stop before anything else
                TraceeBatches.settle(running.stream().map(Call::tid).toList());
            }
        }
        Ptrace.UnexpectedStopException unexpected = null;
        boolean[] entered = new boolean[n];
        for (int i = 0; i < n; i++) {
            Call c = calls.get(i);
            WaitStatus entry = Ptrace.waitpid(c.tid());
            if (!entry.isSyscallStop()) {
                unexpected = TraceeBatches.first(unexpected, new Ptrace.UnexpectedStopException(
                        "the syscall-entry stop of syscall " + nr + " in thread " + c.tid(), entry));
                continue;
            }
            Ptrace.getRegisters(c.tid(), regs);
            if (regs.origRax() != nr) {
                unexpected = TraceeBatches.first(unexpected, new Ptrace.UnexpectedStopException("the syscall-entry stop of syscall "
                        + nr + " in thread " + c.tid() + " (entered syscall " + regs.origRax() + ")", entry));
                continue;
            }
            entered[i] = true;
        }
        if (unexpected != null) {
            // the others sit in their entry stops: finish their syscalls, so each is in a plain stop
            List<Call> rest = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (entered[i]) {
                    Ptrace.syscall(calls.get(i).tid(), 0);
                    rest.add(calls.get(i));
                }
            }
            TraceeBatches.settle(rest.stream().map(Call::tid).toList());
            throw unexpected;
        }
        for (Call c : calls) {
            Ptrace.syscall(c.tid(), 0);
        }
        long[] results = new long[n];
        for (int i = 0; i < n; i++) {
            Call c = calls.get(i);
            WaitStatus exit = Ptrace.waitpid(c.tid());
            if (!exit.isSyscallStop()) {
                unexpected = TraceeBatches.first(unexpected, new Ptrace.UnexpectedStopException(
                        "the syscall-exit stop of syscall " + nr + " in thread " + c.tid(), exit));
                continue;
            }
            Ptrace.getRegisters(c.tid(), regs);
            results[i] = regs.rax();
        }
        if (unexpected != null) {
            throw unexpected;
        }
        return results;
    }



    private static long arg(Call c, int i) {
        return i < c.args().length ? c.args()[i] : 0;
    }
}
