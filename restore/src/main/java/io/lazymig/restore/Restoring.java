package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.ThreadState;
import java.util.ArrayList;
import java.util.List;

/**
 * One process's restore in progress, as the steps share it: what is restored and how (the
 * process, one of the checkpoint's tree), the stub it is rebuilt in, and what earlier steps left for later ones. Owned by the restoring (tracer) thread.
 */
final class Restoring {
    final Restorer.Options options;
    final Checkpoint checkpoint;
    final ProcessImage process;
    /** The spawned stub's pid. */
    final int pid;
    /** Set by {@link StubSetup}. */
    Stub stub;
    /** The tree's shared memory objects, made once for all its processes (one instance shared by every process's restore). */
    ShmemObjects shmems;
    /** The tree's connections restored alive (restore --tcp-established), held until it is released; null: closed. */
    HeldConnections heldConnections;
    /** The tree's private pages shared copy-on-write (one instance for the whole tree; null: none). */
    CowTree cow;
    /** Set by {@link MemoryStep}. */
    AddressSpace space;
    /** The stub's vdso block and scratch area, kept mapped while the stub's own mappings go (StubSetup). */
    long[] keptBlock;
    long[] keptScratch;
    /** Bytes written by restore itself (the rest is the lazy daemon's). */
    long eagerBytes;
    /** Set by {@link LazyHandoffStep} when lazy. */
    LazyHandoff handoff;
    /** The open files of the whole tree restored so far (one instance shared by every process's restore). */
    SharedFiles sharedFiles = new SharedFiles();
    /** The threads restore created besides the leader, in the checkpoint's order ({@link ThreadStep}). */
    final List<Created> created = new ArrayList<>();
    /** The scheduling its threads get just before the release ({@link SchedStep}). */
    final List<SchedStep.Change> schedChanges = new ArrayList<>();

    /** A thread {@link ThreadStep} created: its state in the checkpoint and the injector into it. */
    record Created(ThreadState state, Stub stub) {
        int tid() {
            return stub.pid();
        }
    }

    Restoring(Restorer.Options options, Checkpoint checkpoint, int pid) {
        this(options, checkpoint, checkpoint.root(), pid);
    }

    /** The restore of {@code process}, one process of the tree, into the stub {@code pid}. */
    Restoring(Restorer.Options options, Checkpoint checkpoint, ProcessImage process, int pid) {
        this.options = options;
        this.checkpoint = checkpoint;
        this.process = process;
        this.pid = pid;
    }
}
