package io.lazymig.restore;

import java.io.IOException;
import java.util.List;

/**
 * A step that runs for every process of the tree at once ({@link SyscallRun#runAcross}), where one
 * process after another would cost a round of ptrace stops each. {@link Restorer} calls
 * {@link #runAll} instead of {@link #run} for each.
 */
interface TreeStep extends RestoreStep {
    /** The step for {@code all} (parents first), from the tracer thread. */
    void runAll(List<Restoring> all) throws IOException;

    @Override
    default void run(Restoring r) throws IOException {
        runAll(List.of(r));
    }
}
