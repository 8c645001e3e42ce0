package io.lazymig.jni;

import java.util.List;

/** What the injections into many tracees at once share when one of them fails. */
final class TraceeBatches {
    private TraceeBatches() {
    }

    /** Waits for one stop of each tracee resumed (any stop: the caller is failing anyway). */
    static void settle(List<Integer> resumed) {
        for (int tid : resumed) {
            try {
                Ptrace.waitpid(tid);
            } catch (NativeException ignored) {
                // gone: nothing to wait for
            }
        }
    }

    /** The first failure of a batch: the one reported. */
    static Ptrace.UnexpectedStopException first(Ptrace.UnexpectedStopException a, Ptrace.UnexpectedStopException b) {
        return a != null ? a : b;
    }
}
