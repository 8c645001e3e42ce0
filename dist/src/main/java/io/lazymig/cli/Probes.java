package io.lazymig.cli;

import io.lazymig.jni.Buffers;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import io.lazymig.jni.Userfaultfd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The probes of {@code lazymig check}, each doing the real thing once. */
final class Probes {
    private Probes() {
    }

    static List<Probe> all() {
        return List.of(
                new Probe("userfaultfd with fork, remap, remove and unmap events", Probes::userfaultfd),
                new Probe("ptrace seize, interrupt and syscall injection", Probes::ptraceInjection),
                new Probe("process_vm_readv/writev and /proc/PID/mem", Probes::processMemory),
                new Probe("pidfd_open and pidfd_getfd (take a uffd out of a process)", Probes::pidfdGetfd),
                new Probe("PR_SET_MM_MAP (restore the mm of a process)", Probes::prSetMmMap),
                new Probe("TCP repair and socket filters (--tcp-established)", Probes::tcpRepair),
                new Probe("network namespaces (ip netns, veth: the test hosts)", Probes::networkNamespaces));
    }

    /** A uffd with CRIU's non-cooperative events enabled, as restore creates for each process. */
    static void userfaultfd() throws Exception {
        long needed = Userfaultfd.FEATURE_EVENT_FORK | Userfaultfd.FEATURE_EVENT_REMAP
                | Userfaultfd.FEATURE_EVENT_REMOVE | Userfaultfd.FEATURE_EVENT_UNMAP;
        long missing = needed & ~Userfaultfd.supportedFeatures();
        if (missing != 0) {
            throw new IOException("kernel lacks userfaultfd features 0x" + Long.toHexString(missing));
        }
        try (Userfaultfd uffd = Userfaultfd.create()) {
            long ioctls = uffd.api(needed);
            if (!Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_REGISTER)) {
                throw new IOException("UFFDIO_API does not offer UFFDIO_REGISTER");
            }
        }
    }

    /** A TCP socket into and out of repair mode, with the drop-all filter dump locks connections with. */
    static void tcpRepair() throws Exception {
        try (FileDescriptor s = io.lazymig.jni.TcpRepair.socket(io.lazymig.jni.Sockets.AF_INET,
                io.lazymig.jni.Sockets.SOCK_STREAM, io.lazymig.jni.Sockets.IPPROTO_TCP)) {
            try {
                io.lazymig.jni.TcpRepair.setRepair(s, 1);
            } catch (io.lazymig.jni.NativeException e) {
                throw new IOException(e.getMessage() + " (TCP repair needs CAP_NET_ADMIN)", e);
            }
            io.lazymig.jni.TcpRepair.attachDropFilter(s);
            io.lazymig.jni.TcpRepair.detachFilter(s);
            io.lazymig.jni.TcpRepair.setRepair(s, io.lazymig.jni.TcpRepair.TCP_REPAIR_OFF_NO_WP);
        }
    }

    /** Spawns a traced child, injects getpid into it, and checks the answer is its pid. */
    static void ptraceInjection() throws Exception {
        withTracedChild(pid -> {
            SyscallInjector inj = new SyscallInjector(pid, SyscallInjector.findSyscallInstruction(pid));
            long r = inj.inject(Syscalls.GETPID);
            if (r != pid) {
                throw new IOException("injected getpid returned " + r + ", expected " + pid);
            }
        });
        int sleeper = startSleeper();
        try {
            Ptrace.seize(sleeper, Ptrace.O_TRACESYSGOOD);
            Ptrace.interrupt(sleeper);
            WaitStatus st = Ptrace.waitpid(sleeper);
            if (!st.isInterruptStop()) {
                throw new IOException("PTRACE_INTERRUPT gave " + st.describe());
            }
            Ptrace.detach(sleeper, 0);
        } finally {
            SystemInfo.kill(sleeper, SystemInfo.SIGKILL);
        }
    }

    /** Reads a traced child's text both ways, writes a word back through process_vm_writev. */
    static void processMemory() throws Exception {
        withTracedChild(pid -> {
            long text = SyscallInjector.findSyscallInstruction(pid) & -SystemInfo.PAGE_SIZE;
            ByteBuffer viaVm = Buffers.allocatePageAligned((int) SystemInfo.PAGE_SIZE);
            ByteBuffer viaMem = Buffers.allocatePageAligned((int) SystemInfo.PAGE_SIZE);
            ProcessMemory.read(pid, text, viaVm);
            try (FileDescriptor mem = ProcessMemory.openMem(pid, true)) {
                ProcessMemory.readMem(mem, text, viaMem);
            }
            if (!viaVm.clear().equals(viaMem.clear())) {
                throw new IOException("process_vm_readv and /proc/PID/mem disagree");
            }
            long stack = Ptrace.getRegisters(pid).rsp() & -SystemInfo.PAGE_SIZE;
            ByteBuffer word = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, 0x6c617a796d6967L);
            ProcessMemory.write(pid, stack, word.clear());
            if (Ptrace.peekData(pid, stack) != word.getLong(0)) {
                throw new IOException("process_vm_writev did not reach the child");
            }
        });
    }

    private interface TracedBody {
        void run(int pid) throws Exception;
    }

    /** Runs {@code body} on a child stopped under ptrace at its first instruction, then kills it. */
    private static void withTracedChild(TracedBody body) throws Exception {
        String exe = stubOr("/bin/true");
        int pid = Ptrace.spawnTraced(exe, new String[] {exe}, new String[0], Ptrace.DEFAULT_OPTIONS);
        try {
            body.run(pid);
        } finally {
            Ptrace.killAndReap(pid);
        }
    }

    private static String stubOr(String fallback) {
        String dir = System.getProperty("lazymig.native.dir");
        Path stub = dir == null ? null : Path.of(dir, "lazymig-stub");
        return stub != null && Files.isExecutable(stub) ? stub.toString() : fallback;
    }

    /** A process that is not our child, as dump meets them: a sleep started in the background by sh. */
    private static int startSleeper() throws IOException, InterruptedException {
        Finished sh = runBounded(List.of("sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"), Duration.ofSeconds(10));
        try {
            return Integer.parseInt(sh.output());
        } catch (NumberFormatException e) {
            throw new IOException("'sh -c sleep 30 &' printed '" + sh.output() + "' (exit " + sh.exitCode()
                    + "), not the sleeper's pid");
        }
    }

    /** Takes a copy of one of our own fds through a pidfd, as restore does with the stub's uffd. */
    static void pidfdGetfd() throws Exception {
        try (FileDescriptor devNull = FileDescriptor.open("/dev/null", FileDescriptor.O_RDONLY, 0);
             Pidfd self = Pidfd.open(SystemInfo.getpid());
             FileDescriptor copy = self.getfd(devNull.fd())) {
            if (!Files.readSymbolicLink(Path.of("/proc/self/fd/" + copy.fd())).toString().equals("/dev/null")) {
                throw new IOException("pidfd_getfd returned an fd for another file");
            }
        }
    }

    /** The kernel knows PR_SET_MM_MAP (CONFIG_CHECKPOINT_RESTORE) and we may use it. */
    static void prSetMmMap() throws Exception {
        ByteBuffer size = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        SystemInfo.prctl(SystemInfo.PR_SET_MM, SystemInfo.PR_SET_MM_MAP_SIZE, Buffers.address(size), 0, 0);
        if (size.getInt(0) != SystemInfo.PRCTL_MM_MAP_SIZE) {
            throw new IOException("kernel's prctl_mm_map is " + size.getInt(0) + " bytes, lazymig was built for "
                    + SystemInfo.PRCTL_MM_MAP_SIZE);
        }
        long capEff = effectiveCapabilities();
        if (!hasCap(capEff, SystemInfo.CAP_CHECKPOINT_RESTORE) && !hasCap(capEff, SystemInfo.CAP_SYS_ADMIN)) {
            throw new IOException("needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (run as root)");
        }
    }

    static void networkNamespaces() throws Exception {
        if (!Files.exists(Path.of("/proc/self/ns/net"))) {
            throw new IOException("kernel without network namespaces (/proc/self/ns/net missing)");
        }
        run("ip", "-V");
        run("unshare", "--net", "ip", "link", "add", "lm-check0", "type", "veth", "peer", "name", "lm-check1");
    }

    static long effectiveCapabilities() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return Long.parseUnsignedLong(line.substring(7).trim(), 16);
            }
        }
        throw new IOException("/proc/self/status has no CapEff line");
    }

    static boolean hasCap(long capEff, int cap) {
        return (capEff >>> cap & 1) != 0;
    }

    /** Runs a command to completion; a missing command or a non-zero exit is an exception. */
    static void run(String... command) throws IOException, InterruptedException {
        Finished f;
        try {
            f = runBounded(List.of(command), Duration.ofSeconds(10));
        } catch (NoSuchFileException e) {
            throw new IOException("'" + command[0] + "' not found (install iproute2 and util-linux)");
        }
        if (f.exitCode() != 0) {
            throw new IOException("'" + String.join(" ", command) + "' failed: "
                    + (f.output().isEmpty() ? "exit " + f.exitCode() : f.output().lines().findFirst().orElse("")));
        }
    }

    /** A command that exited: its exit code and what it printed (stdout and stderr), stripped. */
    record Finished(int exitCode, String output) {
    }

    /**
     * Runs {@code command} with its output in a scratch file (a pipe could block the command, or
     * us, forever) and waits at most {@code limit}; past that it is killed and reaped, and this
     * throws naming the command. A command that cannot be started is a {@link NoSuchFileException}.
     */
    static Finished runBounded(List<String> command, Duration limit) throws IOException, InterruptedException {
        Path out = Files.createTempFile("lazymig-probe-", ".out");
        try {
            Process p;
            try {
                p = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .redirectOutput(out.toFile()).start();
            } catch (IOException e) {
                throw new NoSuchFileException(command.get(0), null, e.getMessage());
            }
            boolean exited = false;
            try {
                exited = p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
            } finally {
                if (!exited) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            }
            if (!exited) {
                throw new IOException("'" + String.join(" ", command) + "' did not finish in "
                        + (limit.toMillis() % 1000 == 0 ? limit.toSeconds() + " s" : limit.toMillis() + " ms") + " (killed)");
            }
            return new Finished(p.exitValue(), Files.readString(out).strip());
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
