package io.lazymig.dump;

import io.lazymig.images.ProcessState;
import io.lazymig.images.SigAction;
import io.lazymig.images.SigInfo;
import io.lazymig.images.Timers;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The /proc state of a tree's processes but the first ({@link ProcessStateReader}), read on a
 * thread of their own while the tracer thread dumps the first: nothing in it needs ptrace (the
 * pending signals, which do, are read before, on the tracer thread). One after another on the tracer
 * thread they cost ~1 ms a process inside the freeze (bench tick-migrate-tree4-64: "proc" 4.7 ms
 * for 4 processes, 0.7 for one).
 */
final class ProcStateReads {
    /** What one process's read needs beside its pid. */
    record Input(int pid, int ppid, long brk, List<SigAction> actions, List<SigInfo> sharedPending, Timers timers) {
    }

    private final List<FutureTask<ProcessState>> reads = new ArrayList<>();

    private ProcStateReads(List<Input> inputs) {
        for (Input in : inputs) {
            reads.add(new FutureTask<>(() -> ProcessStateReader.read(in.pid(), in.ppid(), in.brk(), in.actions(),
                    in.sharedPending(), in.timers())));
        }
    }

    /** Starts reading {@code inputs} in order, on one thread beside the caller's. */
    static ProcStateReads start(List<Input> inputs) {
        ProcStateReads r = new ProcStateReads(inputs);
        Thread t = new Thread(() -> {
            for (FutureTask<ProcessState> f : r.reads) {
                f.run();
            }
        }, "dump /proc reads");
        t.setDaemon(true);
        t.start();
        return r;
    }

    /** The state of input {@code i}, once read; its failure is thrown as it was. */
    ProcessState get(int i) throws IOException {
        try {
            return reads.get(i).get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(c.getMessage(), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DumpException("interrupted while reading /proc");
        }
    }
}
