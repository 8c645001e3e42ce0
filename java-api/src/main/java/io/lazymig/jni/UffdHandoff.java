package io.lazymig.jni;

/**
 * The constants of the hand-off of a userfaultfd from restore to the lazy-pages daemon (CRIU's
 * protocol, CRIU-FACTS §1.2–1.4), in one place for both ends: per task an int32 pid then one byte
 * carrying the uffd over SCM_RIGHTS; after every task the {@link #RESTORE_FINISHED} word. Restore
 * enables {@link #FEATURES} with UFFDIO_API before it sends the uffd; the daemon, which cannot ask
 * the kernel, adopts it with the same set.
 */
public final class UffdHandoff {
    /** CRIU's "ReSTore Finished" word, in host byte order. */
    public static final int RESTORE_FINISHED = 0x52535446;
    /** The non-cooperative events restore asks for: fork, mremap, MADV_DONTNEED/REMOVE, munmap. */
    public static final long FEATURES = Userfaultfd.FEATURE_EVENT_FORK | Userfaultfd.FEATURE_EVENT_REMAP
            | Userfaultfd.FEATURE_EVENT_REMOVE | Userfaultfd.FEATURE_EVENT_UNMAP;

    private UffdHandoff() {
    }
}
