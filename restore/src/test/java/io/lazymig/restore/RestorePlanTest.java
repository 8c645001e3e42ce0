package io.lazymig.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lazymig.images.Checkpoint;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The order of restore's steps holds the constraints RestorePlan documents, and what restore cannot do yet is refused (process trees). */
class RestorePlanTest {
    private static List<Class<?>> kinds(boolean lazy) {
        return RestorePlan.steps(lazy).stream().<Class<?>>map(Object::getClass).toList();
    }

    @Test
    void eagerRestoreHasNoHandoff() {
        assertEquals(List.of(StubSetup.class, MemoryStep.class, ProcessStep.class, FdTableStep.class, ThreadStep.class,
                PendingSignalsStep.class, SchedStep.class, TimersStep.class, CredsStep.class, DeathSignalStep.class, ArmTimersStep.class,
                RegistersStep.class), kinds(false));
    }

    @Test
    void parentDeathSignalsAreSetAfterTheCredentials() {
        for (boolean lazy : List.of(false, true)) {
            List<Class<?>> steps = kinds(lazy);
            assertTrue(steps.indexOf(DeathSignalStep.class) > steps.indexOf(CredsStep.class),
                    "a change of ids resets the parent-death signal");
            assertTrue(steps.indexOf(DeathSignalStep.class) > steps.indexOf(ThreadStep.class), "set in every thread");
        }
    }

    @Test
    void timersAreCreatedAfterTheThreadsWithRootsPrivilegesAndArmedJustBeforeTheRegisters() {
        for (boolean lazy : new boolean[] {false, true}) {
            List<Class<?>> steps = kinds(lazy);
            assertTrue(steps.indexOf(TimersStep.class) > steps.indexOf(ThreadStep.class),
                    "a SIGEV_THREAD_ID timer names a thread that must exist");
            assertTrue(steps.indexOf(TimersStep.class) < steps.indexOf(CredsStep.class),
                    "PR_TIMER_CREATE_RESTORE_IDS needs CAP_CHECKPOINT_RESTORE");
            assertEquals(steps.indexOf(RegistersStep.class) - 1, steps.indexOf(ArmTimersStep.class),
                    "armed last, so they go on from where they were");
        }
    }

    @Test
    void lazyHandoffComesAfterMemoryAndBeforeRseqAndCreds() {
        List<Class<?>> steps = kinds(true);
        int handoff = steps.indexOf(LazyHandoffStep.class);
        assertTrue(handoff > steps.indexOf(MemoryStep.class), "the uffd registers VMAs that must be mapped");
        assertTrue(handoff > steps.indexOf(ProcessStep.class), "PR_SET_MM_MAP needs the mapped layout");
        assertTrue(handoff < steps.indexOf(ThreadStep.class), "rseq reads its area: after the daemon serves faults");
        assertTrue(handoff < steps.indexOf(CredsStep.class), "the uffd needs root's privileges");
        assertEquals(RegistersStep.class, steps.get(steps.size() - 1), "registers last: nothing is injected after them");
    }

    @Test
    void stepsHaveDistinctNamesForTheTimingLog() {
        List<String> names = RestorePlan.steps(true).stream().map(RestoreStep::name).toList();
        assertEquals(names.size(), names.stream().distinct().count(), names.toString());
    }

    @Test
    void threadsAreCreatedBeforeTheCredentialsDropAndTheRegistersAreSet() {
        List<Class<?>> steps = kinds(false);
        assertTrue(steps.indexOf(ThreadStep.class) < steps.indexOf(CredsStep.class),
                "clone3's set_tid needs CAP_CHECKPOINT_RESTORE, and each created thread takes the credentials");
        assertTrue(steps.indexOf(ThreadStep.class) < steps.indexOf(RegistersStep.class),
                "each created thread's registers are set with the leader's");
    }

    @Test
    void signalsAreQueuedOnceEveryThreadExistsAndSchedulingIsSetWhileStillRoot() {
        for (boolean lazy : List.of(false, true)) {
            List<Class<?>> steps = kinds(lazy);
            int signals = steps.indexOf(PendingSignalsStep.class);
            assertTrue(signals > steps.indexOf(ThreadStep.class), "a thread's own signals are queued into it");
            assertTrue(signals < steps.indexOf(RegistersStep.class), "the own masks come after, with the registers");
            int sched = steps.indexOf(SchedStep.class);
            assertTrue(sched > steps.indexOf(ThreadStep.class) && sched < steps.indexOf(CredsStep.class),
                    "every thread exists; a real-time policy or a lower nice needs CAP_SYS_NICE");
        }
    }

    @Test
    void multiThreadedProcessesAreAccepted() throws Exception {
        Restorer.refuseUnsupported(Checkpoint.of(Processes.withThreads(3, List.of()), List.of()), true);
    }

    @Test
    void aSingleThreadedProcessIsAccepted() throws Exception {
        Restorer.refuseUnsupported(Checkpoint.of(Processes.single(List.of()), List.of()), true);
    }

    @Test
    void aTreeWhoseGroupsCannotBeRebuiltIsRefused() throws Exception {
        Checkpoint tree = new Checkpoint(List.of(Processes.single(List.of())), List.of(), List.of(), List.of(),
                List.of(new io.lazymig.images.Zombie(Processes.PID + 5, Processes.PID, 77, Processes.PID, "z", 0)));
        Restorer.refuseUnsupported(new Checkpoint(tree.processes(), List.of(), List.of(), List.of(),
                List.of(new io.lazymig.images.Zombie(Processes.PID + 5, Processes.PID, Processes.PID, Processes.PID, "z", 0))),
                true);
        RestoreException e = assertThrows(RestoreException.class, () -> Restorer.refuseUnsupported(tree, false));
        assertEquals("cannot restore the tree of process " + Processes.PID + ": process " + (Processes.PID + 5)
                + " is in process group 77, which no process of the tree leads, and the root is in another: dump the"
                + " group leader (or the session leader) instead", e.getMessage());
    }
}
