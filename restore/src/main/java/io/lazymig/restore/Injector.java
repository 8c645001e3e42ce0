package io.lazymig.restore;

import java.io.IOException;
import io.lazymig.jni.Syscalls;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Syscalls injected into the process being restored, and a scratch area in it for their
 * in-memory arguments. {@link Stub} is the real one (ptrace); the steps that only inject syscalls
 * take this, so a test can run them against a model of the kernel.
 */
interface Injector {
    /** The process the syscalls run in. */
    int pid();

    /** Injects a syscall; an error result is a RestoreException naming it. */
    long call(String name, int nr, long... args) throws IOException;

    /** Injects a syscall and returns its raw result (-errno on failure). */
    long raw(int nr, long... args) throws IOException;

    /** Starts filling the scratch area from its beginning again. */
    void resetScratch();

    /** Copies a NUL-terminated string into the scratch area; returns its address there. */
    long putString(String s) throws IOException;

    /** Copies the remaining bytes of {@code buf} (direct) into the scratch area, 8-aligned; returns its address. */
    long put(ByteBuffer buf) throws IOException;

    /** Reads {@code dst.remaining()} bytes of the process's memory at {@code address} into {@code dst}. */
    void read(long address, ByteBuffer dst) throws IOException;

    /**
     * Runs {@code calls} one after another, stopping at the first that fails: each raw result, or
     * {@link SyscallRun#NOT_RUN} for those after it. Here one injection each; {@link Stub} runs them
     * all in one stop ({@link SyscallRun}), its loop and records in the scratch area from its cursor on.
     */
    default long[] runAll(List<SyscallRun.Call> calls) throws IOException {
        long[] rcs = new long[calls.size()];
        Arrays.fill(rcs, SyscallRun.NOT_RUN);
        for (int i = 0; i < calls.size(); i++) {
            rcs[i] = raw(calls.get(i).nr(), calls.get(i).args());
            if (Syscalls.isError(rcs[i])) {
                break;
            }
        }
        return rcs;
    }

    /**
     * Runs every one of {@code calls}, in order, whatever each returns (as many {@link #raw} would):
     * {@link #runAll} again from the call after a failure. Each raw result.
     */
    default long[] runEvery(List<SyscallRun.Call> calls) throws IOException {
        long[] out = new long[calls.size()];
        int from = 0;
        while (from < calls.size()) {
            long[] rcs = runAll(calls.subList(from, calls.size()));
            int k = 0;
            while (k < rcs.length && rcs[k] != SyscallRun.NOT_RUN) {
                out[from + k] = rcs[k];
                k++;
            }
            if (k == 0) {
                throw new IllegalStateException("a run of syscalls ran none");
            }
            from += k;
        }
        return out;
    }
}
