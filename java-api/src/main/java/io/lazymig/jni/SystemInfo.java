package io.lazymig.jni;

/** This machine's page size and signal numbers, and the calling process's ids. */
public final class SystemInfo {
    static {
        NativeLibrary.load();
    }

    public static final long PAGE_SIZE = nativePageSize();
    public static final int SIGKILL = (int) constant("SIGKILL");
    public static final int SIGSTOP = (int) constant("SIGSTOP");
    public static final int SIGCONT = (int) constant("SIGCONT");
    public static final int SIGTRAP = (int) constant("SIGTRAP");
    public static final int SIGTERM = (int) constant("SIGTERM");
    public static final int SIGCHLD = (int) constant("SIGCHLD");
    public static final int SIGSEGV = (int) constant("SIGSEGV");
    public static final int SIGBUS = (int) constant("SIGBUS");
    public static final int SIGUSR1 = (int) constant("SIGUSR1");
    public static final int SIGUSR2 = (int) constant("SIGUSR2");
    public static final int SIGINT = (int) constant("SIGINT");
    public static final int SIGHUP = (int) constant("SIGHUP");
    public static final int SIGPIPE = (int) constant("SIGPIPE");
    public static final int SIGALRM = (int) constant("SIGALRM");
    /** One more than the highest signal number (65 on x86_64 Linux). */
    public static final int NSIG = (int) constant("NSIG");

    public static final int PR_SET_MM = (int) constant("PR_SET_MM");
    public static final int PR_SET_MM_MAP = (int) constant("PR_SET_MM_MAP");
    public static final int PR_SET_MM_MAP_SIZE = (int) constant("PR_SET_MM_MAP_SIZE");
    public static final int PR_SET_NAME = (int) constant("PR_SET_NAME");
    public static final int PR_GET_NAME = (int) constant("PR_GET_NAME");
    public static final int PR_SET_DUMPABLE = (int) constant("PR_SET_DUMPABLE");
    /** prctl(PR_GET_TID_ADDRESS, &addr): the calling thread's clear_child_tid address. */
    public static final int PR_GET_TID_ADDRESS = (int) constant("PR_GET_TID_ADDRESS");
    /** prctl(PR_SET_PDEATHSIG, sig) / prctl(PR_GET_PDEATHSIG, &int): the calling thread's parent-death signal. */
    public static final int PR_SET_PDEATHSIG = (int) constant("PR_SET_PDEATHSIG");
    public static final int PR_GET_PDEATHSIG = (int) constant("PR_GET_PDEATHSIG");
    /**
     * prctl(PR_TIMER_CREATE_RESTORE_IDS, ON/OFF): while on, timer_create takes the id it creates
     * from *timerid (Linux 6.17; EINVAL before; EBUSY for an id in use).
     */
    public static final int PR_TIMER_CREATE_RESTORE_IDS = (int) constant("PR_TIMER_CREATE_RESTORE_IDS");
    public static final int PR_TIMER_CREATE_RESTORE_IDS_OFF = (int) constant("PR_TIMER_CREATE_RESTORE_IDS_OFF");
    public static final int PR_TIMER_CREATE_RESTORE_IDS_ON = (int) constant("PR_TIMER_CREATE_RESTORE_IDS_ON");
    /** sizeof(struct prctl_mm_map), what PR_SET_MM_MAP takes as its size argument. */
    public static final int PRCTL_MM_MAP_SIZE = (int) constant("PRCTL_MM_MAP_SIZE");

    /** Offsets in struct prctl_mm_map (u64 fields, then u64 auxv pointer, u32 auxv_size, u32 exe_fd). */
    public static final int PRCTL_MM_MAP_OFFSET_START_CODE = (int) constant("PRCTL_MM_MAP_OFFSET_start_code");
    public static final int PRCTL_MM_MAP_OFFSET_END_CODE = (int) constant("PRCTL_MM_MAP_OFFSET_end_code");
    public static final int PRCTL_MM_MAP_OFFSET_START_DATA = (int) constant("PRCTL_MM_MAP_OFFSET_start_data");
    public static final int PRCTL_MM_MAP_OFFSET_END_DATA = (int) constant("PRCTL_MM_MAP_OFFSET_end_data");
    public static final int PRCTL_MM_MAP_OFFSET_START_BRK = (int) constant("PRCTL_MM_MAP_OFFSET_start_brk");
    public static final int PRCTL_MM_MAP_OFFSET_BRK = (int) constant("PRCTL_MM_MAP_OFFSET_brk");
    public static final int PRCTL_MM_MAP_OFFSET_START_STACK = (int) constant("PRCTL_MM_MAP_OFFSET_start_stack");
    public static final int PRCTL_MM_MAP_OFFSET_ARG_START = (int) constant("PRCTL_MM_MAP_OFFSET_arg_start");
    public static final int PRCTL_MM_MAP_OFFSET_ARG_END = (int) constant("PRCTL_MM_MAP_OFFSET_arg_end");
    public static final int PRCTL_MM_MAP_OFFSET_ENV_START = (int) constant("PRCTL_MM_MAP_OFFSET_env_start");
    public static final int PRCTL_MM_MAP_OFFSET_ENV_END = (int) constant("PRCTL_MM_MAP_OFFSET_env_end");
    public static final int PRCTL_MM_MAP_OFFSET_AUXV = (int) constant("PRCTL_MM_MAP_OFFSET_auxv");
    public static final int PRCTL_MM_MAP_OFFSET_AUXV_SIZE = (int) constant("PRCTL_MM_MAP_OFFSET_auxv_size");
    public static final int PRCTL_MM_MAP_OFFSET_EXE_FD = (int) constant("PRCTL_MM_MAP_OFFSET_exe_fd");

    /** Capability numbers, as bit positions of CapEff in /proc/PID/status. */
    public static final int CAP_SYS_ADMIN = (int) constant("CAP_SYS_ADMIN");
    public static final int CAP_SYS_PTRACE = (int) constant("CAP_SYS_PTRACE");
    public static final int CAP_CHECKPOINT_RESTORE = (int) constant("CAP_CHECKPOINT_RESTORE");

    private SystemInfo() {
    }

    public static int getpid() {
        return nativeGetpid();
    }

    public static int gettid() {
        return nativeGettid();
    }

    /** kill(2); throws {@link NativeException} with the errno (ESRCH for a dead pid). */
    public static void kill(int pid, int signal) throws NativeException {
        if (pid <= 0) {
            throw new IllegalArgumentException("kill: refusing pid " + pid + " (process groups are never targeted)");
        }
        NativeException.check("kill(" + pid + ", " + signal + ")", nativeKill(pid, signal));
    }

    /** prctl(2) on the calling process with raw arguments (addresses of this process's memory). */
    public static long prctl(int option, long arg2, long arg3, long arg4, long arg5) throws NativeException {
        return NativeException.check("prctl(" + option + ")", nativePrctl(option, arg2, arg3, arg4, arg5));
    }

    /**
     * Whether fd1 of pid1 and fd2 of pid2 are one open file description (kcmp KCMP_FILE: a dup, or
     * an inherited {@code 2>&1}), which share one offset. Needs ptrace access to both processes.
     */
    public static boolean sameOpenFile(int pid1, int fd1, int pid2, int fd2) throws NativeException {
        int rc = nativeKcmpFile(pid1, fd1, pid2, fd2);
        return NativeException.check("kcmp(" + pid1 + ", " + pid2 + ", KCMP_FILE, " + fd1 + ", " + fd2 + ")", rc) == 0;
    }

    /**
     * Whether the file epoll {@code epfd} of process {@code pid} watches under fd number {@code tfd}
     * is the open file description at {@code fd} now (kcmp KCMP_EPOLL_TFD): a watch outlives its fd
     * number when the file stays open through a dup, and the number may since name another file.
     * False, too, when the epoll has no watch on {@code tfd}.
     */
    public static boolean epollWatchesFileAt(int pid, int epfd, int tfd, int fd) throws NativeException {
        int rc = nativeKcmpEpollTarget(pid, fd, epfd, tfd);
        if (rc == -Errno.ENOENT) {
            return false;
        }
        return NativeException.check("kcmp(" + pid + ", KCMP_EPOLL_TFD, " + fd + ", {" + epfd + ", " + tfd + "})", rc) == 0;
    }

    private static native long constant(String name);

    private static native int nativeKcmpEpollTarget(int pid, int fd, int epfd, int tfd);

    private static native int nativeKcmpFile(int pid1, int fd1, int pid2, int fd2);

    private static native long nativePrctl(int option, long a2, long a3, long a4, long a5);

    private static native long nativePageSize();

    private static native int nativeGetpid();

    private static native int nativeGettid();

    private static native int nativeKill(int pid, int sig);
}
