package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * it/workloads/ptrace-target.c, compiled once per test class and spawned under ptrace with its
 * stdout in a file. Every method must run on the thread that spawned it (the tracer).
 */
final class PtraceTarget implements AutoCloseable {
    static final String MARKER = "lazymig-ptrace-target-marker";
    static final String RODATA = "lazymig-ptrace-target-read-only";
    private static final Pattern READY = Pattern.compile("ready pid=(\\d+) marker=0x([0-9a-f]+) rodata=0x([0-9a-f]+)");

    final int pid;
    final Path stdout;
    long marker;
    long rodata;

    private PtraceTarget(int pid, Path stdout) {
        this.pid = pid;
        this.stdout = stdout;
    }

    /** Compiles the target with gcc into {@code dir}; fails loudly when gcc is missing. */
    static Path build(Path dir) throws IOException, InterruptedException {
        Path root = Path.of(System.getProperty("lazymig.root", "..")).toAbsolutePath();
        Path source = root.resolve("it/workloads/ptrace-target.c");
        assertTrue(Files.isRegularFile(source), "missing " + source + " (lazymig.root=" + root + ")");
        Path exe = dir.resolve("ptrace-target");
        ChildGroup.Finished gcc = ChildGroup.run(60, List.of("gcc", "-O2", "-Wall", "-Werror", "-o", exe.toString(),
                source.toString()));
        assertTrue(!gcc.timedOut() && gcc.exit() == 0, "gcc failed" + (gcc.timedOut() ? " (killed after 60 s)" : "") + ": "
                + gcc.output());
        return exe;
    }

    /** Spawns the target stopped in its exec SIGTRAP stop, with {@link Ptrace#DEFAULT_OPTIONS}. */
    static PtraceTarget spawn(Path exe, Path dir) throws IOException {
        Path out = Files.createTempFile(dir, "ptrace-target", ".out");
        try (FileDescriptor fd = FileDescriptor.open(out.toString(), FileDescriptor.O_WRONLY, 0)) {
            int pid = Ptrace.spawnTraced(exe.toString(), new String[] { "ptrace-target" }, new String[] { "LANG=C" },
                    null, fd, null, Ptrace.DEFAULT_OPTIONS);
            return new PtraceTarget(pid, out);
        }
    }

    /**
     * Lets the target run until it printed its ready line, then stops it with SIGSTOP: it is then
     * in a signal-delivery-stop inside pause(), rseq and everything of glibc set up.
     */
    PtraceTarget runUntilReady() throws IOException, InterruptedException {
        Ptrace.cont(pid, 0);
        Matcher m;
        while (true) {
            List<String> lines = Files.readAllLines(stdout);
            m = lines.isEmpty() ? null : READY.matcher(lines.get(0));
            if (m != null && m.matches()) {
                break;
            }
            var change = Ptrace.poll(pid);
            assertTrue(change.isEmpty(), () -> "target stopped before it was ready: " + change.get());
            Thread.sleep(5);
        }
        marker = Long.parseUnsignedLong(m.group(2), 16);
        rodata = Long.parseUnsignedLong(m.group(3), 16);
        SystemInfo.kill(pid, SystemInfo.SIGSTOP);
        WaitStatus s = Ptrace.waitpid(pid);
        assertTrue(s.isSignalStop() && s.stopSignal() == SystemInfo.SIGSTOP, "expected the SIGSTOP stop, got " + s);
        return this;
    }

    /** The lines of /proc/PID/maps. */
    List<String> maps() throws IOException {
        return Files.readAllLines(Path.of("/proc", Integer.toString(pid), "maps"));
    }

    /** The value of {@code key:} in /proc/PID/status. */
    String status(String key) throws IOException {
        return procStatus(pid, key);
    }

    static String procStatus(int pid, String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
            if (line.startsWith(key + ":")) {
                return line.substring(key.length() + 1).trim();
            }
        }
        throw new IOException("no " + key + " in /proc/" + pid + "/status");
    }

    @Override
    public void close() throws IOException {
        Ptrace.killAndReap(pid);
    }
}
