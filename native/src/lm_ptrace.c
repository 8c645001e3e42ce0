/*
 * ptrace: spawning a traced child, seize/interrupt, waitpid and its status decoding, register
 * sets, sigmask, rseq configuration, pending siginfo peeks, resume/detach requests and word peeks. Paired with
 * io.lazymig.jni.Ptrace (WaitStatus, Registers, SyscallInjector and Syscalls read their
 * constants through it).
 *
 * A tracee belongs to the thread that attached it: every request for it must come from that
 * thread (the Java side documents and relies on this). Nothing here keeps per-tracee state.
 */
#define _GNU_SOURCE
#include "lm_util.h"

#include <linux/sched.h>

#include <cpuid.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
/* linux/timerfd.h has it, but clashes with sys/timerfd.h: restore's TFD_IOC_SET_TICKS (CONFIG_CHECKPOINT_RESTORE). */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The kernel's layout of PTRACE_GET_RSEQ_CONFIGURATION's result (uapi linux/ptrace.h). */
struct lm_rseq_configuration {
    uint64_t rseq_abi_pointer;
    uint32_t rseq_abi_size;
    uint32_t signature;
    uint32_t flags;
    uint32_t pad;
};

/*
 * The kernel's sigset is 64 bits on x86_64; glibc's sigset_t is 1024 bits, and
 * PTRACE_GETSIGMASK/SETSIGMASK refuse that size with EINVAL (KERNEL-FACTS §2).
 */
#define LM_KERNEL_SIGSET_SIZE 8

/* The kernel's struct sigaction for rt_sigaction on x86_64 (no restorer needed for SIG_DFL). */
struct lm_kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

/* Raw syscall results in [-MAX_ERRNO, -1] are -errno (the kernel's include/linux/err.h). */
#define LM_MAX_ERRNO 4095

/* A syscall-stop under PTRACE_O_TRACESYSGOOD reports this stop signal. */
#define LM_SYSCALL_STOP_SIGNAL (SIGTRAP | 0x80)

/* Where a spawn failed: the Java side names the call from these. */
enum lm_spawn_stage {
    LM_SPAWN_PIPE = 1,
    LM_SPAWN_FORK,
    LM_SPAWN_SIGACTION,
    LM_SPAWN_SIGPROCMASK,
    LM_SPAWN_DUP,
    LM_SPAWN_CLOSE_RANGE,
    LM_SPAWN_TRACEME,
    LM_SPAWN_EXECVE,
    LM_SPAWN_WAIT,
    LM_SPAWN_INITIAL_STOP,
    LM_SPAWN_SETOPTIONS,
};

/* Indexes of nativeDecodeStatus's output array: the values of the W* macros. */
enum lm_decoded {
    LM_DECODED_EXITED,
    LM_DECODED_EXIT_STATUS,
    LM_DECODED_SIGNALED,
    LM_DECODED_TERM_SIGNAL,
    LM_DECODED_CORE_DUMP,
    LM_DECODED_STOPPED,
    LM_DECODED_STOP_SIGNAL,
    LM_DECODED_CONTINUED,
    LM_DECODED_EVENT,
    LM_DECODED_COUNT,
};

/* Kinds of synthetic statuses nativeMakeStatus builds (for tests). */
enum lm_status_kind { LM_STATUS_EXITED, LM_STATUS_SIGNALED, LM_STATUS_STOPPED, LM_STATUS_CONTINUED };

#define LM_REG(f) { "REG_OFFSET_" #f, (jlong)offsetof(struct user_regs_struct, f) }

static const struct lm_constant ptrace_constants[] = {
    /* requests, for messages and the generic request native */
    LM_CONST(PTRACE_CONT), LM_CONST(PTRACE_SYSCALL), LM_CONST(PTRACE_DETACH), LM_CONST(PTRACE_INTERRUPT),
    LM_CONST(PTRACE_LISTEN), LM_CONST(PTRACE_SETOPTIONS), LM_CONST(PTRACE_SEIZE),
    /* options */
    LM_CONST(PTRACE_O_TRACESYSGOOD), LM_CONST(PTRACE_O_EXITKILL), LM_CONST(PTRACE_O_TRACEEXEC),
    LM_CONST(PTRACE_O_TRACEEXIT), LM_CONST(PTRACE_O_TRACEFORK), LM_CONST(PTRACE_O_TRACEVFORK),
    LM_CONST(PTRACE_O_TRACECLONE), LM_CONST(PTRACE_O_TRACESECCOMP), LM_CONST(PTRACE_O_SUSPEND_SECCOMP),
    /* events (status >> 16) */
    LM_CONST(PTRACE_EVENT_FORK), LM_CONST(PTRACE_EVENT_VFORK), LM_CONST(PTRACE_EVENT_CLONE),
    LM_CONST(PTRACE_EVENT_EXEC), LM_CONST(PTRACE_EVENT_VFORK_DONE), LM_CONST(PTRACE_EVENT_EXIT),
    LM_CONST(PTRACE_EVENT_SECCOMP), LM_CONST(PTRACE_EVENT_STOP),
    /* waitpid */
    LM_CONST(__WALL), LM_CONST(WNOHANG),
    { "SYSCALL_STOP_SIGNAL", LM_SYSCALL_STOP_SIGNAL },
    /* register sets */
    LM_CONST(NT_PRSTATUS), LM_CONST(NT_X86_XSTATE),
    { "USER_REGS_SIZE", (jlong)sizeof(struct user_regs_struct) },
    { "USER_REGS_FIELD_SIZE", (jlong)sizeof(((struct user_regs_struct *)0)->rip) },
    LM_REG(r15), LM_REG(r14), LM_REG(r13), LM_REG(r12), LM_REG(rbp), LM_REG(rbx), LM_REG(r11),
    LM_REG(r10), LM_REG(r9), LM_REG(r8), LM_REG(rax), LM_REG(rcx), LM_REG(rdx), LM_REG(rsi),
    LM_REG(rdi), LM_REG(orig_rax), LM_REG(rip), LM_REG(cs), LM_REG(eflags), LM_REG(rsp), LM_REG(ss),
    LM_REG(fs_base), LM_REG(gs_base), LM_REG(ds), LM_REG(es), LM_REG(fs), LM_REG(gs),
    { "KERNEL_SIGSET_SIZE", LM_KERNEL_SIGSET_SIZE },
    /* kernel-internal restart codes (include/linux/errno.h): what rax holds in a task stopped in a syscall */
    { "ERESTARTSYS", 512 }, { "ERESTARTNOINTR", 513 }, { "ERESTARTNOHAND", 514 },
    { "ERESTART_RESTARTBLOCK", 516 },
    { "RSEQ_CONFIGURATION_SIZE", (jlong)sizeof(struct lm_rseq_configuration) },
    { "SIGINFO_SIZE", (jlong)sizeof(siginfo_t) },
    /* spawn failure stages */
    { "SPAWN_PIPE", LM_SPAWN_PIPE }, { "SPAWN_FORK", LM_SPAWN_FORK },
    { "SPAWN_SIGACTION", LM_SPAWN_SIGACTION }, { "SPAWN_SIGPROCMASK", LM_SPAWN_SIGPROCMASK },
    { "SPAWN_DUP", LM_SPAWN_DUP }, { "SPAWN_CLOSE_RANGE", LM_SPAWN_CLOSE_RANGE },
    { "SPAWN_TRACEME", LM_SPAWN_TRACEME }, { "SPAWN_EXECVE", LM_SPAWN_EXECVE },
    { "SPAWN_WAIT", LM_SPAWN_WAIT }, { "SPAWN_INITIAL_STOP", LM_SPAWN_INITIAL_STOP },
    { "SPAWN_SETOPTIONS", LM_SPAWN_SETOPTIONS },
    /* decoded status layout and synthetic status kinds (this shim's ABI, not the kernel's) */
    { "DECODED_EXITED", LM_DECODED_EXITED }, { "DECODED_EXIT_STATUS", LM_DECODED_EXIT_STATUS },
    { "DECODED_SIGNALED", LM_DECODED_SIGNALED }, { "DECODED_TERM_SIGNAL", LM_DECODED_TERM_SIGNAL },
    { "DECODED_CORE_DUMP", LM_DECODED_CORE_DUMP }, { "DECODED_STOPPED", LM_DECODED_STOPPED },
    { "DECODED_STOP_SIGNAL", LM_DECODED_STOP_SIGNAL }, { "DECODED_CONTINUED", LM_DECODED_CONTINUED },
    { "DECODED_EVENT", LM_DECODED_EVENT }, { "DECODED_COUNT", LM_DECODED_COUNT },
    { "STATUS_EXITED", LM_STATUS_EXITED }, { "STATUS_SIGNALED", LM_STATUS_SIGNALED },
    { "STATUS_STOPPED", LM_STATUS_STOPPED }, { "STATUS_CONTINUED", LM_STATUS_CONTINUED },
};

/* Syscall numbers and the argument flags of the syscalls restore injects. */
static const struct lm_constant syscall_constants[] = {
    LM_CONST(SYS_read), LM_CONST(SYS_write), LM_CONST(SYS_close), LM_CONST(SYS_lseek),
    LM_CONST(SYS_mmap), LM_CONST(SYS_mprotect), LM_CONST(SYS_munmap), LM_CONST(SYS_brk),
    LM_CONST(SYS_rt_sigaction), LM_CONST(SYS_rt_sigprocmask), LM_CONST(SYS_ioctl),
    LM_CONST(SYS_mremap), LM_CONST(SYS_madvise), LM_CONST(SYS_dup), LM_CONST(SYS_dup2),
    LM_CONST(SYS_pause), LM_CONST(SYS_getpid), LM_CONST(SYS_exit), LM_CONST(SYS_kill), LM_CONST(SYS_tgkill),
    LM_CONST(SYS_fcntl), LM_CONST(SYS_gettid), LM_CONST(SYS_sigaltstack), LM_CONST(SYS_prctl),
    LM_CONST(SYS_arch_prctl), LM_CONST(SYS_set_tid_address), LM_CONST(SYS_restart_syscall),
    LM_CONST(SYS_clock_nanosleep), LM_CONST(SYS_exit_group), LM_CONST(SYS_openat),
    LM_CONST(SYS_set_robust_list), LM_CONST(SYS_get_robust_list), LM_CONST(SYS_dup3),
    LM_CONST(SYS_userfaultfd), LM_CONST(SYS_rseq), LM_CONST(SYS_pidfd_open), LM_CONST(SYS_execve),
    LM_CONST(SYS_nanosleep), LM_CONST(SYS_getppid), LM_CONST(SYS_setsid), LM_CONST(SYS_chdir),
    LM_CONST(SYS_fchdir), LM_CONST(SYS_umask), LM_CONST(SYS_setrlimit), LM_CONST(SYS_prlimit64),
    LM_CONST(SYS_timer_create), LM_CONST(SYS_timer_settime), LM_CONST(SYS_alarm),
    LM_CONST(SYS_timer_gettime), LM_CONST(SYS_timer_getoverrun), LM_CONST(SYS_timer_delete),
    LM_CONST(SYS_getitimer), LM_CONST(SYS_setitimer),
    LM_CONST(SYS_setgroups), LM_CONST(SYS_setresuid), LM_CONST(SYS_setresgid), LM_CONST(SYS_setfsuid),
    LM_CONST(SYS_setfsgid), LM_CONST(SYS_recvmsg), LM_CONST(SYS_accept4), LM_CONST(SYS_clone3),
    LM_CONST(SYS_rt_sigqueueinfo), LM_CONST(SYS_rt_tgsigqueueinfo), LM_CONST(SYS_sched_setscheduler),
    LM_CONST(SYS_setpriority),
    LM_CONST(SYS_flock), LM_CONST(SYS_pipe2), LM_CONST(SYS_mknodat), LM_CONST(SYS_setpgid), LM_CONST(SYS_pidfd_getfd),
    LM_CONST(SYS_eventfd2), LM_CONST(SYS_timerfd_create), LM_CONST(SYS_timerfd_settime),
    LM_CONST(SYS_signalfd4), LM_CONST(SYS_inotify_init1), LM_CONST(SYS_inotify_add_watch),
    LM_CONST(SYS_inotify_rm_watch), LM_CONST(SYS_epoll_create1), LM_CONST(SYS_epoll_ctl), LM_CONST(SYS_clock_gettime),
    LM_CONST(SYS_socket), LM_CONST(SYS_bind), LM_CONST(SYS_listen), LM_CONST(SYS_connect),
    LM_CONST(SYS_getsockopt), LM_CONST(SYS_setsockopt), LM_CONST(SYS_getsockname), LM_CONST(SYS_getpeername),
    LM_CONST(SYS_socketpair), LM_CONST(SYS_shutdown), LM_CONST(SYS_sendto), LM_CONST(SYS_recvfrom),
    LM_CONST(SYS_unlink), LM_CONST(SYS_fchmod), LM_CONST(SYS_fchown), LM_CONST(SYS_chmod), LM_CONST(SYS_lchown),
    LM_CONST(SYS_sendmsg),
    /* argument values */
    LM_CONST(PROT_NONE), LM_CONST(PROT_READ), LM_CONST(PROT_WRITE), LM_CONST(PROT_EXEC),
    LM_CONST(MAP_SHARED), LM_CONST(MAP_PRIVATE), LM_CONST(MAP_ANONYMOUS), LM_CONST(MAP_FIXED),
    LM_CONST(MAP_FIXED_NOREPLACE), LM_CONST(MAP_GROWSDOWN), LM_CONST(MAP_NORESERVE),
    LM_CONST(MAP_POPULATE), LM_CONST(MREMAP_MAYMOVE), LM_CONST(MREMAP_FIXED), LM_CONST(AT_FDCWD),
    LM_CONST(CLONE_VM), LM_CONST(CLONE_FS), LM_CONST(CLONE_FILES), LM_CONST(CLONE_SIGHAND),
    LM_CONST(CLONE_THREAD), LM_CONST(CLONE_SYSVSEM), LM_CONST(CLONE_SETTLS), LM_CONST(CLONE_PARENT_SETTID),
    LM_CONST(CLONE_CHILD_CLEARTID), LM_CONST(CLONE_PTRACE), { "CLONE_ARGS_SIZE_VER2", CLONE_ARGS_SIZE_VER2 },
    LM_CONST(PRIO_PROCESS), LM_CONST(F_DUPFD), LM_CONST(F_SETFL), LM_CONST(F_GETFL), LM_CONST(F_GETFD), LM_CONST(F_SETFD), LM_CONST(FD_CLOEXEC), LM_CONST(SEEK_SET),
    LM_CONST(ITIMER_REAL), LM_CONST(ITIMER_VIRTUAL), LM_CONST(ITIMER_PROF),
    LM_CONST(LOCK_SH), LM_CONST(LOCK_EX), LM_CONST(LOCK_NB),
    LM_CONST(F_GETPIPE_SZ), LM_CONST(F_SETPIPE_SZ), LM_CONST(S_IFIFO),
    LM_CONST(EFD_SEMAPHORE), LM_CONST(EPOLL_CTL_ADD), LM_CONST(TFD_IOC_SET_TICKS),
    LM_CONST(IN_DONT_FOLLOW), LM_CONST(IN_NONBLOCK),
        { "MAP_FAILED", (jlong)(intptr_t)MAP_FAILED },
    { "MAX_ERRNO", LM_MAX_ERRNO },
};

static jlong lm_ptrace_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, ptrace_constants, LM_ARRAY_SIZE(ptrace_constants), name);
}

static jlong lm_ptrace_syscall_constant(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    return lm_constant_lookup(env, syscall_constants, LM_ARRAY_SIZE(syscall_constants), name);
}

/*
 * The size of buffer that holds this CPU's whole XSAVE area: CPUID leaf 0xD, sub-leaf 0, ECX is
 * the size for every feature XCR0 can enable, an upper bound of what NT_X86_XSTATE fills. At
 * least 16 KiB, so a CPUID surprise cannot truncate the regset silently.
 */
static jlong lm_ptrace_xstate_buffer_size(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    jlong size = 16384;
    if (__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx) && (jlong)ecx > size)
        size = ((jlong)ecx + 4095) & ~(jlong)4095;
    return size;
}

/* Frees a NULL-terminated array of strings built by lm_ptrace_strings. */
static void lm_ptrace_free_strings(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

/* A NULL-terminated copy of a Java String[] (modified UTF-8); NULL on allocation failure. */
static char **lm_ptrace_strings(JNIEnv *env, jobjectArray array)
{
    jsize n = (*env)->GetArrayLength(env, array);
    char **v = calloc((size_t)n + 1, sizeof(char *));
    if (v == NULL)
        return NULL;
    for (jsize i = 0; i < n; i++) {
        jstring s = (jstring)(*env)->GetObjectArrayElement(env, array, i);
        if (s == NULL) {
            lm_ptrace_free_strings(v);
            return NULL;
        }
        const char *c = (*env)->GetStringUTFChars(env, s, NULL);
        if (c == NULL) {
            (*env)->DeleteLocalRef(env, s);
            lm_ptrace_free_strings(v);
            return NULL;
        }
        v[i] = strdup(c);
        (*env)->ReleaseStringUTFChars(env, s, c);
        (*env)->DeleteLocalRef(env, s);
        if (v[i] == NULL) {
            lm_ptrace_free_strings(v);
            return NULL;
        }
    }
    return v;
}

/* Child side of a spawn: report {stage, errno} through the CLOEXEC pipe and die. */
static void __attribute__((noreturn)) lm_ptrace_child_fail(int pipe_fd, int stage)
{
    int msg[2] = { stage, errno };
    ssize_t ignored = write(pipe_fd, msg, sizeof(msg));
    (void)ignored;
    _exit(127);
}

/*
 * Child side of a spawn, between fork and execve: async-signal-safe calls only (the JVM's other
 * threads do not exist here, but their locks may be held).
 */
static void __attribute__((noreturn)) lm_ptrace_child(int pipe_fd, const char *path, char **argv, char **envp,
                                                      const int stdio[3])
{
    /* The report pipe must not sit on 0..2, which the redirections below overwrite. */
    if (pipe_fd < 3 && (pipe_fd = fcntl(pipe_fd, F_DUPFD_CLOEXEC, 3)) < 0)
        _exit(127);

    /*
     * Default dispositions first, then an empty mask: a signal unblocked while the JVM's handlers
     * were still installed would run JVM code in this half-process. Ignored signals would survive
     * execve. The raw call, because glibc's sigaction refuses its internal signals 32 and 33, which
     * were found ignored in a surefire JVM. EINVAL comes only for SIGKILL and SIGSTOP.
     */
    struct lm_kernel_sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.handler = SIG_DFL;
    for (int sig = 1; sig <= LM_KERNEL_SIGSET_SIZE * 8; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP
            && syscall(SYS_rt_sigaction, sig, &dfl, NULL, LM_KERNEL_SIGSET_SIZE) != 0)
            lm_ptrace_child_fail(pipe_fd, LM_SPAWN_SIGACTION);
    }
    /* The raw call: glibc's wrapper keeps its internal signals out of the set it passes. */
    uint64_t empty = 0;
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, LM_KERNEL_SIGSET_SIZE) != 0)
        lm_ptrace_child_fail(pipe_fd, LM_SPAWN_SIGPROCMASK);

    /* Move the sources above 2 first, so redirecting one of 0..2 cannot clobber another. */
    int moved[3];
    for (int i = 0; i < 3; i++) {
        moved[i] = -1;
        if (stdio[i] >= 0 && (moved[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
            lm_ptrace_child_fail(pipe_fd, LM_SPAWN_DUP);
    }
    for (int i = 0; i < 3; i++) {
        if (moved[i] >= 0 && dup2(moved[i], i) < 0) /* dup2 clears FD_CLOEXEC on i */
            lm_ptrace_child_fail(pipe_fd, LM_SPAWN_DUP);
    }
    /* Nothing of the JVM's leaks into the tracee: close every fd above 2 but the report pipe. */
    if (pipe_fd > 3 && syscall(SYS_close_range, 3U, (unsigned int)pipe_fd - 1, 0U) != 0)
        lm_ptrace_child_fail(pipe_fd, LM_SPAWN_CLOSE_RANGE);
    if (syscall(SYS_close_range, (unsigned int)pipe_fd + 1, ~0U, 0U) != 0)
        lm_ptrace_child_fail(pipe_fd, LM_SPAWN_CLOSE_RANGE);

    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
        lm_ptrace_child_fail(pipe_fd, LM_SPAWN_TRACEME);
    execve(path, argv, envp);
    lm_ptrace_child_fail(pipe_fd, LM_SPAWN_EXECVE);
}

/* Kills and reaps a child that failed after fork; errors are irrelevant here. */
static void lm_ptrace_discard_child(pid_t pid)
{
    int status;
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
        ;
}

/*
 * Forks; the child resets signals, redirects 0..2 to stdio[i] when >= 0, closes every other fd,
 * PTRACE_TRACEMEs and execs. The parent waits for the exec SIGTRAP stop and sets `options`.
 * Returns the pid, or -errno with failure[0] = the stage that failed and, when the initial stop
 * was not a SIGTRAP stop, failure[1] = its wait status and failure[2] = the (reaped) pid.
 */
/*
 * fork(), or with want_pid > 0 clone3() with set_tid = {want_pid} (fork semantics, the given pid;
 * EEXIST when it is taken). The child runs only raw syscalls, so glibc's stale view of the
 * thread id after a raw clone3 does not matter.
 */
static pid_t lm_ptrace_fork(pid_t want_pid)
{
    if (want_pid <= 0)
        return fork();
    pid_t tids[1] = { want_pid };
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.exit_signal = SIGCHLD;
    args.set_tid = (uint64_t)(uintptr_t)tids;
    args.set_tid_size = 1;
    return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* What the child of lm_ptrace_vfork runs lm_ptrace_child with (on the parent's memory, read before its execve). */
struct lm_spawn_child {
    int pipe_fd;
    const char *path;
    char **argv;
    char **envp;
    const int *stdio;
};

static void __attribute__((noreturn, used)) lm_ptrace_child_entry(struct lm_spawn_child *c)
{
    lm_ptrace_child(c->pipe_fd, c->path, c->argv, c->envp, c->stdio);
}

/* The stack of lm_ptrace_vfork's child: lm_ptrace_child's few frames. */
#define LM_SPAWN_STACK (64 * 1024)

/*
 * As lm_ptrace_fork, posix_spawn's way: clone3 with CLONE_VM | CLONE_VFORK, the child running
 * lm_ptrace_child on a stack of its own in this address space while this thread sleeps until it
 * has exec'd (or died). A fork of the JVM copied its page tables and hundreds of VMAs, and every
 * page another JVM thread wrote until the exec (the agent's lazy-pages daemon starting beside
 * restore) was copied again: restore's "spawn stub" 16-90 ms. Every signal is blocked meanwhile,
 * so that no JVM handler runs in the child before it resets them; the child inherits the mask and
 * empties it itself. Returns the pid, or -1 with errno (ENOSYS: no clone3).
 */
static pid_t lm_ptrace_vfork(pid_t want_pid, struct lm_spawn_child *c)
{
    void *stack = mmap(NULL, LM_SPAWN_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -1;
    pid_t tids[1] = { want_pid };
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_VM | CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = LM_SPAWN_STACK;
    if (want_pid > 0) {
        args.set_tid = (uint64_t)(uintptr_t)tids;
        args.set_tid_size = 1;
    }
    uint64_t all = ~(uint64_t)0, old = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, LM_KERNEL_SIGSET_SIZE);
    long rc;
    /* The child starts on its stack (16-aligned) with no frame to return to: it calls the entry, which never returns. */
    __asm__ volatile("syscall\n\t"
                     "testq %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xorl %%ebp, %%ebp\n\t"
                     "movq %[c], %%rdi\n\t"
                     "callq *%[fn]\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(rc)
                     : "0"((long)SYS_clone3), "D"(&args), "S"(sizeof(args)), [fn] "r"(lm_ptrace_child_entry), [c] "r"(c)
                     : "rcx", "r11", "memory", "cc");
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, LM_KERNEL_SIGSET_SIZE);
    munmap(stack, LM_SPAWN_STACK);
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return (pid_t)rc;
}

static jint lm_ptrace_spawn(JNIEnv *env, jclass cls, jstring jpath, jobjectArray jargv, jobjectArray jenvp,
                            jint in, jint out, jint err, jint options, jint want_pid, jintArray jfailure)
{
    (void)cls;
    jint failure[3] = { 0, 0, 0 };
    jint rc;
    const char *path = (*env)->GetStringUTFChars(env, jpath, NULL);
    char **argv = path == NULL ? NULL : lm_ptrace_strings(env, jargv);
    char **envp = argv == NULL ? NULL : lm_ptrace_strings(env, jenvp);
    if (envp == NULL) {
        (*env)->ExceptionClear(env); /* reported as ENOMEM */
        failure[0] = LM_SPAWN_FORK;
        rc = -ENOMEM;
        goto out;
    }

    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        failure[0] = LM_SPAWN_PIPE;
        rc = -errno;
        goto out;
    }
    const int stdio[3] = { in, out, err };
    struct lm_spawn_child child = { pipe_fds[1], path, argv, envp, stdio };
    pid_t pid = lm_ptrace_vfork(want_pid, &child);
    if (pid < 0 && errno == ENOSYS)
        pid = lm_ptrace_fork(want_pid);
    if (pid == 0) {
        close(pipe_fds[0]);
        lm_ptrace_child(pipe_fds[1], path, argv, envp, stdio);
    }
    int fork_errno = errno;
    close(pipe_fds[1]);
    if (pid < 0) {
        close(pipe_fds[0]);
        failure[0] = LM_SPAWN_FORK;
        rc = -fork_errno;
        goto out;
    }

    /* EOF: the pipe closed at a successful execve. A message: the child failed before exec. */
    int msg[2];
    long n = LM_RETRY(read(pipe_fds[0], msg, sizeof(msg)));
    close(pipe_fds[0]);
    if (n == (long)sizeof(msg)) {
        int status;
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
            ;
        failure[0] = msg[0];
        rc = msg[1] > 0 ? -msg[1] : -EIO;
        goto out;
    }
    if (n != 0) { /* a torn message cannot come from one 8-byte pipe write; read error */
        lm_ptrace_discard_child(pid);
        failure[0] = LM_SPAWN_WAIT;
        rc = n < 0 ? (jint)n : -EIO;
        goto out;
    }

    int status;
    long w = LM_RETRY(waitpid(pid, &status, __WALL));
    if (w < 0) {
        lm_ptrace_discard_child(pid);
        failure[0] = LM_SPAWN_WAIT;
        rc = (jint)w;
        goto out;
    }
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
        if (WIFSTOPPED(status))
            lm_ptrace_discard_child(pid);
        failure[0] = LM_SPAWN_INITIAL_STOP;
        failure[1] = status;
        failure[2] = pid;
        rc = -ECHILD;
        goto out;
    }
    if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(intptr_t)options) != 0) {
        int e = errno;
        lm_ptrace_discard_child(pid);
        failure[0] = LM_SPAWN_SETOPTIONS;
        rc = -e;
        goto out;
    }
    rc = pid;

out:
    lm_ptrace_free_strings(envp);
    lm_ptrace_free_strings(argv);
    if (path != NULL)
        (*env)->ReleaseStringUTFChars(env, jpath, path);
    (*env)->SetIntArrayRegion(env, jfailure, 0, 3, failure);
    return rc;
}

/* A request whose addr and data are plain numbers, never pointers (CONT, SYSCALL, DETACH, ...). */
static jint lm_ptrace_request(JNIEnv *env, jclass cls, jint request, jint pid, jlong addr, jlong data)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(ptrace((enum __ptrace_request)request, (pid_t)pid, LM_ADDR(addr), LM_ADDR(data)));
}

/* waitpid; status[0] receives the raw status. Returns the pid (0 for WNOHANG and no change). */
static jint lm_ptrace_waitpid(JNIEnv *env, jclass cls, jint pid, jint flags, jintArray jstatus)
{
    (void)cls;
    int status = 0;
    long rc = LM_RETRY(waitpid((pid_t)pid, &status, flags));
    jint s = status;
    (*env)->SetIntArrayRegion(env, jstatus, 0, 1, &s);
    return (jint)rc;
}

/* The W* macros applied to `status`, in lm_decoded order. */
static void lm_ptrace_decode_status(JNIEnv *env, jclass cls, jint status, jintArray jout)
{
    (void)cls;
    int s = status;
    jint out[LM_DECODED_COUNT];
    out[LM_DECODED_EXITED] = WIFEXITED(s) ? 1 : 0;
    out[LM_DECODED_EXIT_STATUS] = WEXITSTATUS(s);
    out[LM_DECODED_SIGNALED] = WIFSIGNALED(s) ? 1 : 0;
    out[LM_DECODED_TERM_SIGNAL] = WTERMSIG(s);
    out[LM_DECODED_CORE_DUMP] = WCOREDUMP(s) ? 1 : 0;
    out[LM_DECODED_STOPPED] = WIFSTOPPED(s) ? 1 : 0;
    out[LM_DECODED_STOP_SIGNAL] = WSTOPSIG(s);
    out[LM_DECODED_CONTINUED] = WIFCONTINUED(s) ? 1 : 0;
    out[LM_DECODED_EVENT] = (int)((unsigned int)s >> 16); /* the ptrace event of a stop */
    (*env)->SetIntArrayRegion(env, jout, 0, LM_DECODED_COUNT, out);
}

/* A status as the kernel would report it, for tests of the decoding. -EINVAL for a bad kind. */
static jint lm_ptrace_make_status(JNIEnv *env, jclass cls, jint kind, jint value, jint event)
{
    (void)env;
    (void)cls;
    switch (kind) {
    case LM_STATUS_EXITED:
        return W_EXITCODE(value & 0xff, 0);
    case LM_STATUS_SIGNALED:
        return W_EXITCODE(0, value & 0x7f);
    case LM_STATUS_STOPPED: /* ptrace_event() reports (event << 8 | SIGTRAP) as the stop "signal" */
        return W_STOPCODE(((unsigned int)event << 8) | (unsigned int)(value & 0xff));
    case LM_STATUS_CONTINUED:
        return __W_CONTINUED;
    default:
        return -EINVAL;
    }
}

/* PTRACE_GETREGSET into [address, address+len); returns the length the kernel filled. */
static jlong lm_ptrace_get_regset(JNIEnv *env, jclass cls, jint pid, jint type, jlong address, jlong len)
{
    (void)env;
    (void)cls;
    struct iovec iov = { LM_ADDR(address), (size_t)len };
    long rc = LM_RETRY(ptrace(PTRACE_GETREGSET, (pid_t)pid, (void *)(intptr_t)type, &iov));
    return rc < 0 ? rc : (jlong)iov.iov_len;
}

/* PTRACE_SETREGSET from exactly [address, address+len). */
static jint lm_ptrace_set_regset(JNIEnv *env, jclass cls, jint pid, jint type, jlong address, jlong len)
{
    (void)env;
    (void)cls;
    struct iovec iov = { LM_ADDR(address), (size_t)len };
    return (jint)LM_RETRY(ptrace(PTRACE_SETREGSET, (pid_t)pid, (void *)(intptr_t)type, &iov));
}

static jint lm_ptrace_get_sigmask(JNIEnv *env, jclass cls, jint pid, jlongArray jout)
{
    (void)cls;
    uint64_t mask = 0;
    long rc = LM_RETRY(ptrace(PTRACE_GETSIGMASK, (pid_t)pid, (void *)(uintptr_t)LM_KERNEL_SIGSET_SIZE, &mask));
    jlong v = (jlong)mask;
    (*env)->SetLongArrayRegion(env, jout, 0, 1, &v);
    return (jint)rc;
}

static jint lm_ptrace_set_sigmask(JNIEnv *env, jclass cls, jint pid, jlong mask)
{
    (void)env;
    (void)cls;
    uint64_t m = (uint64_t)mask;
    return (jint)LM_RETRY(ptrace(PTRACE_SETSIGMASK, (pid_t)pid, (void *)(uintptr_t)LM_KERNEL_SIGSET_SIZE, &m));
}

/*
 * The bit of `sig` in a kernel sigset as PTRACE_GETSIGMASK returns it (a mask, not a count: the
 * bit of signal 64 is negative as a jlong); 0 when `sig` is out of range.
 */
static jlong lm_ptrace_sigmask_bit(JNIEnv *env, jclass cls, jint sig)
{
    (void)env;
    (void)cls;
    if (sig < 1 || sig > LM_KERNEL_SIGSET_SIZE * 8)
        return 0;
    return (jlong)(1ULL << (sig - 1));
}

/* out = {rseq_abi_pointer, rseq_abi_size, signature, flags}; returns the size the kernel wrote. */
static jint lm_ptrace_get_rseq(JNIEnv *env, jclass cls, jint pid, jlongArray jout)
{
    (void)cls;
    struct lm_rseq_configuration conf;
    memset(&conf, 0, sizeof(conf));
    long rc = LM_RETRY(ptrace(PTRACE_GET_RSEQ_CONFIGURATION, (pid_t)pid, (void *)sizeof(conf), &conf));
    jlong out[4] = { (jlong)conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature, conf.flags };
    (*env)->SetLongArrayRegion(env, jout, 0, 4, out);
    return (jint)rc;
}

static jint lm_ptrace_get_event_msg(JNIEnv *env, jclass cls, jint pid, jlongArray jout)
{
    (void)cls;
    unsigned long msg = 0;
    long rc = LM_RETRY(ptrace(PTRACE_GETEVENTMSG, (pid_t)pid, NULL, &msg));
    jlong v = (jlong)msg;
    (*env)->SetLongArrayRegion(env, jout, 0, 1, &v);
    return (jint)rc;
}

/* PTRACE_PEEKDATA through the raw syscall, which stores the word at `data` and returns 0. */
static jint lm_ptrace_peek(JNIEnv *env, jclass cls, jint pid, jlong address, jlongArray jout)
{
    (void)cls;
    unsigned long word = 0;
    long rc = LM_RETRY(syscall(SYS_ptrace, PTRACE_PEEKDATA, (pid_t)pid, LM_ADDR(address), &word));
    jlong v = (jlong)word;
    (*env)->SetLongArrayRegion(env, jout, 0, 1, &v);
    return (jint)rc;
}

static jint lm_ptrace_poke(JNIEnv *env, jclass cls, jint pid, jlong address, jlong word)
{
    (void)env;
    (void)cls;
    return (jint)LM_RETRY(ptrace(PTRACE_POKEDATA, (pid_t)pid, LM_ADDR(address), LM_ADDR(word)));
}

/*
 * PTRACE_PEEKSIGINFO: copies up to `nr` queued siginfos (siginfo_t each, in queue order) from
 * index `off` of the tracee's private queue, or with `shared` of its process-wide queue, to
 * `address`, without dequeuing them; returns how many (0 past the end) or -errno.
 */
static jint lm_ptrace_peek_siginfo(JNIEnv *env, jclass cls, jint pid, jboolean shared, jlong off, jint nr,
                                   jlong address)
{
    (void)env;
    (void)cls;
    struct __ptrace_peeksiginfo_args args = {
        .off = (uint64_t)off,
        .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
        .nr = nr,
    };
    return (jint)LM_RETRY(ptrace(PTRACE_PEEKSIGINFO, (pid_t)pid, &args, LM_ADDR(address)));
}

/* out = {head, len} of another task's robust futex list (get_robust_list(2) by pid). */
static jint lm_ptrace_get_robust_list(JNIEnv *env, jclass cls, jint pid, jlongArray jout)
{
    (void)cls;
    void *head = NULL;
    size_t len = 0;
    long rc = LM_RETRY(syscall(SYS_get_robust_list, (pid_t)pid, &head, &len));
    jlong out[2] = { (jlong)(intptr_t)head, (jlong)len };
    (*env)->SetLongArrayRegion(env, jout, 0, 2, out);
    return (jint)rc;
}

/* "SIGTRAP" for 5; NULL when the C library has no abbreviation (real-time signals). */
static jstring lm_ptrace_signal_name(JNIEnv *env, jclass cls, jint sig)
{
    (void)cls;
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev == NULL)
        return NULL;
    char name[32];
    snprintf(name, sizeof(name), "SIG%s", abbrev);
    return (*env)->NewStringUTF(env, name);
}

static const JNINativeMethod methods[] = {
    { "constant", "(Ljava/lang/String;)J", (void *)lm_ptrace_constant },
    { "syscallConstant", "(Ljava/lang/String;)J", (void *)lm_ptrace_syscall_constant },
    { "nativeXstateBufferSize", "()J", (void *)lm_ptrace_xstate_buffer_size },
    { "nativeSpawn", "(Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/String;IIIII[I)I", (void *)lm_ptrace_spawn },
    { "nativeRequest", "(IIJJ)I", (void *)lm_ptrace_request },
    { "nativeWaitpid", "(II[I)I", (void *)lm_ptrace_waitpid },
    { "nativeDecodeStatus", "(I[I)V", (void *)lm_ptrace_decode_status },
    { "nativeMakeStatus", "(III)I", (void *)lm_ptrace_make_status },
    { "nativeGetRegset", "(IIJJ)J", (void *)lm_ptrace_get_regset },
    { "nativeSetRegset", "(IIJJ)I", (void *)lm_ptrace_set_regset },
    { "nativeGetSigmask", "(I[J)I", (void *)lm_ptrace_get_sigmask },
    { "nativeSetSigmask", "(IJ)I", (void *)lm_ptrace_set_sigmask },
    { "nativeSigmaskBit", "(I)J", (void *)lm_ptrace_sigmask_bit },
    { "nativeGetRseq", "(I[J)I", (void *)lm_ptrace_get_rseq },
    { "nativeGetEventMsg", "(I[J)I", (void *)lm_ptrace_get_event_msg },
    { "nativePeek", "(IJ[J)I", (void *)lm_ptrace_peek },
    { "nativePoke", "(IJJ)I", (void *)lm_ptrace_poke },
    { "nativeSignalName", "(I)Ljava/lang/String;", (void *)lm_ptrace_signal_name },
    { "nativeGetRobustList", "(I[J)I", (void *)lm_ptrace_get_robust_list },
    { "nativePeekSiginfo", "(IZJIJ)I", (void *)lm_ptrace_peek_siginfo },
};

int lm_ptrace_register(JNIEnv *env)
{
    return lm_register(env, "Ptrace", methods, LM_ARRAY_SIZE(methods));
}
