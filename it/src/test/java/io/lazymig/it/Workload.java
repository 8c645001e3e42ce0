package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.jni.NativeException;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A sample workload (it/workloads) running as an orphan that lazymig may seize. It is started by
 * {@code sh -c 'CMD >OUT 2>&1 </dev/null & echo $!'}: sh is the ProcessBuilder child and exits at
 * once, so the JVM's process reaper never waits for the workload (it would consume its ptrace
 * stops), and the workload holds only fds 0..2. Its lines "pid P counter N [sum S t T]" are read
 * from OUT. {@link #close()} kills it and waits until it is gone.
 */
final class Workload implements AutoCloseable {
    /** How long to wait for a line or a state change before failing (a guard against hangs, not a measurement). */
    private static final long PATIENCE_MS = 30_000;
    private static final Pattern LINE = Pattern.compile("pid (\\d+) counter (\\d+)(?: sum ([0-9a-f]+) t (\\d+))?");

    /** One output line of a workload. {@code sum} is null for workloads that print none. */
    record Line(int pid, long counter, String sum) {
    }

    final int pid;
    final Path output;
    final String name;

    private Workload(int pid, Path output, String name) {
        this.pid = pid;
        this.output = output;
        this.name = name;
    }

    /** The built C workload {@code exe} (e.g. "checksum-loop-static") with {@code args}. */
    static Workload c(String exe, String... args) throws IOException, InterruptedException {
        return start(exe, command(exe, args));
    }

    /** {@code /bin/sh -c SCRIPT}: a shell whose commands are its children (Workloads.path names the built ones). */
    static Workload shell(String script) throws IOException, InterruptedException {
        return start("sh", List.of("/bin/sh", "-c", script));
    }

    /** it/workloads/checksum_loop.py run by /usr/bin/python3. */
    static Workload python(String... args) throws IOException, InterruptedException {
        return start("checksum_loop.py", command("python", args));
    }

    /** it/workloads/threads.py: a worker thread counting, the main thread waiting for it in join(). */
    static Workload pythonThreads(int intervalMs) throws IOException, InterruptedException {
        return start("threads.py", threadsCommand(intervalMs));
    }

    /** {@link #pythonThreads} as the leader of a session of its own (see {@link #checksumInOwnSession}). */
    static Workload pythonThreadsInOwnSession(int intervalMs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setsid"));
        cmd.addAll(threadsCommand(intervalMs));
        return start("threads.py", cmd);
    }

    private static List<String> threadsCommand(int intervalMs) {
        Path script = root().resolve("it/workloads/threads.py");
        assertTrue(Files.isRegularFile(script), "missing " + script);
        return List.of("/usr/bin/python3", script.toString(), Integer.toString(intervalMs));
    }

    /** A checksum workload by short name: "checksum-loop", "checksum-loop-static" or "python". */
    static Workload checksum(String which, int mib, int intervalMs) throws IOException, InterruptedException {
        return start(which, command(which, Integer.toString(mib), Integer.toString(intervalMs)));
    }

    /**
     * {@link #checksum} run as the leader of a session of its own (setsid(1), which does not fork
     * here: the background child of a non-interactive sh is no process-group leader, so the pid
     * stays the one sh prints). CRIU refuses a task whose session leader lies outside its PID
     * namespace, which is where the test JVM's session leader is when CI runs in a namespace.
     */
    static Workload checksumInOwnSession(String which, int mib, int intervalMs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setsid"));
        cmd.addAll(command(which, Integer.toString(mib), Integer.toString(intervalMs)));
        return start(which, cmd);
    }

    /** The command line of workload {@code which}: "python" (checksum_loop.py) or a built C workload. */
    private static List<String> command(String which, String... args) {
        List<String> cmd = new ArrayList<>();
        if (which.equals("python")) {
            Path script = root().resolve("it/workloads/checksum_loop.py");
            assertTrue(Files.isRegularFile(script), "missing " + script);
            assertTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "missing /usr/bin/python3");
            cmd.addAll(List.of("/usr/bin/python3", script.toString()));
        } else {
            cmd.add(Workloads.path(which));
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    static Path root() {
        String r = System.getProperty("lazymig.root");
        if (r == null) {
            throw new IllegalStateException("system property lazymig.root is not set (run through maven)");
        }
        return Path.of(r).toAbsolutePath().normalize();
    }

    private static Workload start(String name, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(Path.of("/tmp"), "lazymig-workload-", ".out");
        String cmd = command.stream().map(Workload::quote).collect(Collectors.joining(" "));
        Process sh = new ProcessBuilder("sh", "-c", cmd + " >" + quote(out.toString()) + " 2>&1 </dev/null & echo $!")
                .redirectErrorStream(true).start();
        String printed = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(sh.waitFor(30, TimeUnit.SECONDS), "sh did not exit");
        assertEquals(0, sh.exitValue(), "sh failed: " + printed);
        return new Workload(Integer.parseInt(printed), out, name);
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** The lines printed so far. */
    List<Line> lines() throws IOException {
        List<Line> out = new ArrayList<>();
        for (String s : Files.readAllLines(output, StandardCharsets.UTF_8)) {
            Matcher m = LINE.matcher(s);
            if (m.matches()) {
                out.add(new Line(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)), m.group(3)));
            }
        }
        return out;
    }

    /** The whole output, for failure messages. */
    String outputText() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            return "(cannot read " + output + ": " + e + ")";
        }
    }

    /** Waits for a line matching {@code p}; fails if the workload dies first. */
    Line awaitLine(String what, Predicate<Line> p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (true) {
            for (Line l : lines()) {
                if (p.test(l)) {
                    return l;
                }
            }
            if (!alive()) {
                fail(name + " (pid " + pid + ") died while waiting for " + what + "; output:\n" + outputText());
            }
            if (System.nanoTime() > deadline) {
                fail(name + " (pid " + pid + ") printed no " + what + " in " + PATIENCE_MS + " ms; state "
                        + state() + "; output:\n" + outputText());
            }
            Thread.sleep(20);
        }
    }

    Line awaitFirstLine() throws IOException, InterruptedException {
        Line l = awaitLine("first line", x -> true);
        assertEquals(pid, l.pid(), "the workload printed another pid: " + l);
        return l;
    }

    /** The last line printed so far (there must be one). */
    Line lastLine() throws IOException {
        List<Line> l = lines();
        assertTrue(!l.isEmpty(), name + " printed nothing: " + outputText());
        return l.get(l.size() - 1);
    }

    /** Waits until the counter passes {@code counter}: the workload runs on. */
    Line awaitCounterAbove(long counter) throws IOException, InterruptedException {
        return awaitLine("counter above " + counter, l -> l.counter() > counter);
    }

    void signal(int signal) throws NativeException {
        SystemInfo.kill(pid, signal);
    }

    /** SIGSTOP, then waits until the kernel reports it stopped (state T). */
    void stop() throws IOException, InterruptedException {
        signal(SystemInfo.SIGSTOP);
        awaitState("stopped (T)", s -> s == 'T');
    }

    /** Waits until the kernel reports it stopped (state T); fails when it does not stop in time. */
    void awaitStopped() throws IOException, InterruptedException {
        awaitState("stopped (T)", s -> s == 'T');
    }

    /** SIGCONT, then waits until it no longer shows as stopped. */
    void cont() throws IOException, InterruptedException {
        signal(SystemInfo.SIGCONT);
        awaitState("running again", s -> s != 'T' && s != 't');
    }

    /** The state letter of /proc/PID/stat, or 0 when the process is gone. */
    char state() throws IOException {
        try {
            String s = Files.readString(proc("stat"));
            return s.charAt(s.lastIndexOf(')') + 2);
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            // A process reaped between open and read: the read fails with ESRCH ("No such process").
            if (!Files.exists(proc("")) || "No such process".equals(e.getMessage())) {
                return 0;
            }
            throw e;
        }
    }

    /** proc(5)'s 1-based field {@code n} (n >= 3) of /proc/PID/stat, e.g. 5 pgrp, 6 session. */
    long statField(int n) throws IOException {
        String s = Files.readString(proc("stat"));
        return Long.parseLong(s.substring(s.lastIndexOf(')') + 1).trim().split("\\s+")[n - 3]);
    }

    /** TracerPid from /proc/PID/status. */
    int tracerPid() throws IOException {
        return Integer.parseInt(statusField("TracerPid"));
    }

    String statusField(String key) throws IOException {
        for (String l : Files.readAllLines(proc("status"))) {
            if (l.startsWith(key + ":")) {
                return l.substring(key.length() + 1).trim();
            }
        }
        throw new IOException("no " + key + " in /proc/" + pid + "/status");
    }

    /** Exists and is not a zombie. */
    boolean alive() throws IOException {
        char s = state();
        return s != 0 && s != 'Z' && s != 'X';
    }

    /** Waits until the process is gone (or a zombie not yet reaped by init). */
    void awaitGone() throws IOException, InterruptedException {
        awaitState("gone", s -> s == 0 || s == 'Z' || s == 'X');
    }

    private void awaitState(String what, Predicate<Character> p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (!p.test(state())) {
            if (System.nanoTime() > deadline) {
                fail(name + " (pid " + pid + ") not " + what + " after " + PATIENCE_MS + " ms: state " + state());
            }
            Thread.sleep(5);
        }
    }

    Path proc(String entry) {
        return Path.of("/proc", Integer.toString(pid), entry);
    }

    /** Kills the workload (SIGKILL works on a stopped one too) and waits until it is gone. */
    @Override
    public void close() throws IOException, InterruptedException {
        try {
            if (alive()) {
                try {
                    signal(SystemInfo.SIGKILL);
                } catch (NativeException e) {
                    // gone meanwhile
                }
            }
            awaitGone();
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
