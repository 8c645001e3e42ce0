package io.lazymig.jni;

/**
 * x86_64 syscall numbers and the argument flags of the syscalls that are injected into tracees
 * with {@link SyscallInjector}, read from C ({@code SYS_*}, {@code PROT_*}, {@code MAP_*}, ...).
 * Any other syscall number by name: {@link Ptrace#syscallNumber(String)}.
 */
public final class Syscalls {
    public static final int READ = Ptrace.syscallNumber("read");
    public static final int WRITE = Ptrace.syscallNumber("write");
    public static final int CLOSE = Ptrace.syscallNumber("close");
    public static final int LSEEK = Ptrace.syscallNumber("lseek");
    public static final int MMAP = Ptrace.syscallNumber("mmap");
    public static final int MPROTECT = Ptrace.syscallNumber("mprotect");
    public static final int MUNMAP = Ptrace.syscallNumber("munmap");
    public static final int BRK = Ptrace.syscallNumber("brk");
    public static final int RT_SIGACTION = Ptrace.syscallNumber("rt_sigaction");
    public static final int RT_SIGPROCMASK = Ptrace.syscallNumber("rt_sigprocmask");
    public static final int IOCTL = Ptrace.syscallNumber("ioctl");
    public static final int MREMAP = Ptrace.syscallNumber("mremap");
    public static final int MADVISE = Ptrace.syscallNumber("madvise");
    public static final int DUP = Ptrace.syscallNumber("dup");
    public static final int DUP2 = Ptrace.syscallNumber("dup2");
    public static final int DUP3 = Ptrace.syscallNumber("dup3");
    public static final int PAUSE = Ptrace.syscallNumber("pause");
    public static final int NANOSLEEP = Ptrace.syscallNumber("nanosleep");
    public static final int GETPID = Ptrace.syscallNumber("getpid");
    public static final int GETPPID = Ptrace.syscallNumber("getppid");
    public static final int GETTID = Ptrace.syscallNumber("gettid");
    public static final int EXECVE = Ptrace.syscallNumber("execve");
    public static final int EXIT = Ptrace.syscallNumber("exit");
    public static final int EXIT_GROUP = Ptrace.syscallNumber("exit_group");
    public static final int KILL = Ptrace.syscallNumber("kill");
    public static final int TGKILL = Ptrace.syscallNumber("tgkill");
    public static final int FCNTL = Ptrace.syscallNumber("fcntl");
    public static final int SIGALTSTACK = Ptrace.syscallNumber("sigaltstack");
    public static final int PRCTL = Ptrace.syscallNumber("prctl");
    public static final int ARCH_PRCTL = Ptrace.syscallNumber("arch_prctl");
    public static final int SET_TID_ADDRESS = Ptrace.syscallNumber("set_tid_address");
    public static final int RESTART_SYSCALL = Ptrace.syscallNumber("restart_syscall");
    public static final int CLOCK_NANOSLEEP = Ptrace.syscallNumber("clock_nanosleep");
    public static final int OPENAT = Ptrace.syscallNumber("openat");
    public static final int SET_ROBUST_LIST = Ptrace.syscallNumber("set_robust_list");
    public static final int GET_ROBUST_LIST = Ptrace.syscallNumber("get_robust_list");
    public static final int USERFAULTFD = Ptrace.syscallNumber("userfaultfd");
    public static final int RSEQ = Ptrace.syscallNumber("rseq");
    public static final int PIDFD_OPEN = Ptrace.syscallNumber("pidfd_open");
    public static final int SETSID = Ptrace.syscallNumber("setsid");
    public static final int SETPGID = Ptrace.syscallNumber("setpgid");
    public static final int PIDFD_GETFD = Ptrace.syscallNumber("pidfd_getfd");
    public static final int CHDIR = Ptrace.syscallNumber("chdir");
    public static final int FCHDIR = Ptrace.syscallNumber("fchdir");
    public static final int UMASK = Ptrace.syscallNumber("umask");
    public static final int SETRLIMIT = Ptrace.syscallNumber("setrlimit");
    public static final int PRLIMIT64 = Ptrace.syscallNumber("prlimit64");
    public static final int TIMER_CREATE = Ptrace.syscallNumber("timer_create");
    public static final int TIMER_SETTIME = Ptrace.syscallNumber("timer_settime");
    public static final int ALARM = Ptrace.syscallNumber("alarm");
    public static final int TIMER_GETTIME = Ptrace.syscallNumber("timer_gettime");
    public static final int TIMER_GETOVERRUN = Ptrace.syscallNumber("timer_getoverrun");
    public static final int TIMER_DELETE = Ptrace.syscallNumber("timer_delete");
    public static final int GETITIMER = Ptrace.syscallNumber("getitimer");
    public static final int SETITIMER = Ptrace.syscallNumber("setitimer");
    public static final int SETGROUPS = Ptrace.syscallNumber("setgroups");
    public static final int SETRESUID = Ptrace.syscallNumber("setresuid");
    public static final int SETRESGID = Ptrace.syscallNumber("setresgid");
    public static final int SETFSUID = Ptrace.syscallNumber("setfsuid");
    public static final int SETFSGID = Ptrace.syscallNumber("setfsgid");
    public static final int CLONE3 = Ptrace.syscallNumber("clone3");
    public static final int RT_SIGQUEUEINFO = Ptrace.syscallNumber("rt_sigqueueinfo");
    public static final int RT_TGSIGQUEUEINFO = Ptrace.syscallNumber("rt_tgsigqueueinfo");
    public static final int SCHED_SETSCHEDULER = Ptrace.syscallNumber("sched_setscheduler");
    public static final int SETPRIORITY = Ptrace.syscallNumber("setpriority");
    public static final int FLOCK = Ptrace.syscallNumber("flock");
    public static final int PIPE2 = Ptrace.syscallNumber("pipe2");
    public static final int MKNODAT = Ptrace.syscallNumber("mknodat");
    public static final int EVENTFD2 = Ptrace.syscallNumber("eventfd2");
    public static final int TIMERFD_CREATE = Ptrace.syscallNumber("timerfd_create");
    public static final int TIMERFD_SETTIME = Ptrace.syscallNumber("timerfd_settime");
    public static final int SIGNALFD4 = Ptrace.syscallNumber("signalfd4");
    public static final int INOTIFY_INIT1 = Ptrace.syscallNumber("inotify_init1");
    public static final int INOTIFY_ADD_WATCH = Ptrace.syscallNumber("inotify_add_watch");
    public static final int INOTIFY_RM_WATCH = Ptrace.syscallNumber("inotify_rm_watch");
    public static final int EPOLL_CREATE1 = Ptrace.syscallNumber("epoll_create1");
    public static final int EPOLL_CTL = Ptrace.syscallNumber("epoll_ctl");
    public static final int CLOCK_GETTIME = Ptrace.syscallNumber("clock_gettime");
    public static final int SOCKET = Ptrace.syscallNumber("socket");
    public static final int BIND = Ptrace.syscallNumber("bind");
    public static final int LISTEN = Ptrace.syscallNumber("listen");
    public static final int CONNECT = Ptrace.syscallNumber("connect");
    public static final int GETSOCKOPT = Ptrace.syscallNumber("getsockopt");
    public static final int SETSOCKOPT = Ptrace.syscallNumber("setsockopt");
    public static final int GETSOCKNAME = Ptrace.syscallNumber("getsockname");
    public static final int GETPEERNAME = Ptrace.syscallNumber("getpeername");
    public static final int SOCKETPAIR = Ptrace.syscallNumber("socketpair");
    public static final int SHUTDOWN = Ptrace.syscallNumber("shutdown");
    public static final int SENDTO = Ptrace.syscallNumber("sendto");
    public static final int RECVFROM = Ptrace.syscallNumber("recvfrom");
    public static final int UNLINK = Ptrace.syscallNumber("unlink");
    public static final int FCHMOD = Ptrace.syscallNumber("fchmod");
    public static final int FCHOWN = Ptrace.syscallNumber("fchown");
    public static final int CHMOD = Ptrace.syscallNumber("chmod");
    public static final int LCHOWN = Ptrace.syscallNumber("lchown");
    public static final int RECVMSG = Ptrace.syscallNumber("recvmsg");
    public static final int SENDMSG = Ptrace.syscallNumber("sendmsg");

    public static final int PROT_NONE = (int) Ptrace.syscallValue("PROT_NONE");
    public static final int PROT_READ = (int) Ptrace.syscallValue("PROT_READ");
    public static final int PROT_WRITE = (int) Ptrace.syscallValue("PROT_WRITE");
    public static final int PROT_EXEC = (int) Ptrace.syscallValue("PROT_EXEC");
    public static final int MAP_SHARED = (int) Ptrace.syscallValue("MAP_SHARED");
    public static final int MAP_PRIVATE = (int) Ptrace.syscallValue("MAP_PRIVATE");
    public static final int MAP_ANONYMOUS = (int) Ptrace.syscallValue("MAP_ANONYMOUS");
    public static final int MAP_FIXED = (int) Ptrace.syscallValue("MAP_FIXED");
    public static final int MAP_FIXED_NOREPLACE = (int) Ptrace.syscallValue("MAP_FIXED_NOREPLACE");
    public static final int MAP_GROWSDOWN = (int) Ptrace.syscallValue("MAP_GROWSDOWN");
    public static final int MAP_NORESERVE = (int) Ptrace.syscallValue("MAP_NORESERVE");
    public static final int MAP_POPULATE = (int) Ptrace.syscallValue("MAP_POPULATE");
    public static final int MREMAP_MAYMOVE = (int) Ptrace.syscallValue("MREMAP_MAYMOVE");
    public static final int MREMAP_FIXED = (int) Ptrace.syscallValue("MREMAP_FIXED");
    public static final int AT_FDCWD = (int) Ptrace.syscallValue("AT_FDCWD");
    /** setpriority's "which" for one task: with who 0, the calling thread on Linux. */
    public static final int PRIO_PROCESS = (int) Ptrace.syscallValue("PRIO_PROCESS");
    public static final int LOCK_SH = (int) Ptrace.syscallValue("LOCK_SH");
    public static final int LOCK_EX = (int) Ptrace.syscallValue("LOCK_EX");
    public static final int LOCK_NB = (int) Ptrace.syscallValue("LOCK_NB");
    public static final int EFD_SEMAPHORE = (int) Ptrace.syscallValue("EFD_SEMAPHORE");
    public static final int EPOLL_CTL_ADD = (int) Ptrace.syscallValue("EPOLL_CTL_ADD");
    /** ioctl setting a timerfd's expirations not read yet (needs CONFIG_CHECKPOINT_RESTORE). */
    public static final long TFD_IOC_SET_TICKS = Ptrace.syscallValue("TFD_IOC_SET_TICKS");
    public static final int IN_DONT_FOLLOW = (int) Ptrace.syscallValue("IN_DONT_FOLLOW");
    public static final int IN_NONBLOCK = (int) Ptrace.syscallValue("IN_NONBLOCK");
    public static final int F_DUPFD = (int) Ptrace.syscallValue("F_DUPFD");
    public static final int F_SETFL = (int) Ptrace.syscallValue("F_SETFL");
    public static final int F_GETFL = (int) Ptrace.syscallValue("F_GETFL");
    public static final int F_GETFD = (int) Ptrace.syscallValue("F_GETFD");
    public static final int F_SETFD = (int) Ptrace.syscallValue("F_SETFD");
    public static final int FD_CLOEXEC = (int) Ptrace.syscallValue("FD_CLOEXEC");
    public static final int F_GETPIPE_SZ = (int) Ptrace.syscallValue("F_GETPIPE_SZ");
    public static final int F_SETPIPE_SZ = (int) Ptrace.syscallValue("F_SETPIPE_SZ");
    /** mknodat's file type of a FIFO. */
    public static final int S_IFIFO = (int) Ptrace.syscallValue("S_IFIFO");
    public static final int SEEK_SET = (int) Ptrace.syscallValue("SEEK_SET");
    public static final int ITIMER_REAL = (int) Ptrace.syscallValue("ITIMER_REAL");
    public static final int ITIMER_VIRTUAL = (int) Ptrace.syscallValue("ITIMER_VIRTUAL");
    public static final int ITIMER_PROF = (int) Ptrace.syscallValue("ITIMER_PROF");
    public static final long CLONE_VM = Ptrace.syscallValue("CLONE_VM");
    public static final long CLONE_FS = Ptrace.syscallValue("CLONE_FS");
    public static final long CLONE_FILES = Ptrace.syscallValue("CLONE_FILES");
    public static final long CLONE_SIGHAND = Ptrace.syscallValue("CLONE_SIGHAND");
    public static final long CLONE_THREAD = Ptrace.syscallValue("CLONE_THREAD");
    public static final long CLONE_SYSVSEM = Ptrace.syscallValue("CLONE_SYSVSEM");
    public static final long CLONE_SETTLS = Ptrace.syscallValue("CLONE_SETTLS");
    public static final long CLONE_PARENT_SETTID = Ptrace.syscallValue("CLONE_PARENT_SETTID");
    public static final long CLONE_CHILD_CLEARTID = Ptrace.syscallValue("CLONE_CHILD_CLEARTID");
    public static final long CLONE_PTRACE = Ptrace.syscallValue("CLONE_PTRACE");
    /** sizeof(struct clone_args) with set_tid (VER2, 88 bytes). */
    public static final int CLONE_ARGS_SIZE_VER2 = (int) Ptrace.syscallValue("CLONE_ARGS_SIZE_VER2");

    /** The largest errno a raw syscall result can carry (the kernel's MAX_ERRNO). */
    public static final long MAX_ERRNO = Ptrace.syscallValue("MAX_ERRNO");

    private Syscalls() {
    }

    /**
     * Whether a raw syscall result is an error: the kernel returns -errno in [-4095, -1]. Large
     * addresses from mmap look negative as a signed long but are outside that range.
     */
    public static boolean isError(long result) {
        return result < 0 && result >= -MAX_ERRNO;
    }

    /** The errno of an error result, e.g. 14 for -14; see {@link #isError(long)}. */
    public static int errno(long result) {
        if (!isError(result)) {
            throw new IllegalArgumentException("not an error result: " + result);
        }
        return (int) -result;
    }
}
