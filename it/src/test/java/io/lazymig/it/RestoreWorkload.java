package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * A workload for the restore tests, run as an orphan that dump may seize: {@code sh -c 'CMD >OUT
 * 2>&1 </dev/null & echo $!'} in the test's directory, so the JVM never waits for it (its reaper
 * would eat ptrace stops) and it holds only fds 0..2 (plus what it opens itself). Its lines
 * "pid P counter N sum HEX t MS [key value]..." are read back from OUT. The pid stays the handle
 * across dump and restore; {@link #close()} kills whatever runs under it with the same exe.
 */
final class RestoreWorkload implements AutoCloseable {
    /** A guard against hangs while waiting for output (not a measurement). */
    static final long PATIENCE_MS = 45_000;

    /** One output line: its fields by name ("pid", "counter", "sum", "t", ...). */
    record Line(String raw, Map<String, String> fields) {
        int pid() {
            return Integer.parseInt(fields.get("pid"));
        }

        long counter() {
            return Long.parseLong(fields.get("counter"));
        }

        String sum() {
            return fields.get("sum");
        }

        long number(String key) {
            String v = fields.get(key);
            if (v == null) {
                throw new AssertionError("no '" + key + "' in line: " + raw);
            }
            return Long.parseLong(v);
        }

        String get(String key) {
            return fields.get(key);
        }
    }

    final int pid;
    final Path output;
    final Path cwd;
    final String exe;
    final List<String> command;

    private RestoreWorkload(int pid, Path output, Path cwd, String exe, List<String> command) {
        this.pid = pid;
        this.output = output;
        this.cwd = cwd;
        this.exe = exe;
        this.command = command;
    }

    static Path root() {
        String r = System.getProperty("lazymig.root");
        if (r == null) {
            throw new IllegalStateException("system property lazymig.root is not set (run through maven)");
        }
        return Path.of(r).toAbsolutePath().normalize();
    }

    /** A built C workload (it/target/workloads) with its arguments, started in {@code dir}. */
    static RestoreWorkload c(Path dir, String name, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Workloads.path(name));
        cmd.addAll(List.of(args));
        return start(dir, name, cmd);
    }

    /** it/workloads/restore_python.py under /usr/bin/python3, started in {@code dir}. */
    static RestoreWorkload python(Path dir, String... args) throws IOException, InterruptedException {
        Path script = root().resolve("it/workloads/restore_python.py");
        assertTrue(Files.isRegularFile(script), "missing " + script);
        assertTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "missing /usr/bin/python3 (apt-get install python3)");
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString()));
        cmd.addAll(List.of(args));
        return start(dir, "restore_python", cmd);
    }

    /**
     * {@link #c} as the leader of a session of its own, by setsid(1) (which does not fork: the
     * background child of a non-interactive sh is no process-group leader), as CRIU wants it.
     */
    static RestoreWorkload cInOwnSession(Path dir, String name, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setsid", Workloads.path(name)));
        cmd.addAll(List.of(args));
        return start(dir, name, cmd, cmd.get(1));
    }

    /**
     * A workload someone else started (a shell pipeline), known by its pid, whose lines land in
     * {@code output}; {@link #close()} kills it as for the others.
     */
    static RestoreWorkload adopt(int pid, Path output, Path cwd, List<String> command) throws IOException, InterruptedException {
        return new RestoreWorkload(pid, output, cwd, awaitExe(pid, command.get(0)), List.copyOf(command));
    }

    /** Any command, started in {@code dir} with its output in {@code dir/NAME.out}. */
    static RestoreWorkload start(Path dir, String name, List<String> command) throws IOException, InterruptedException {
        return start(dir, name, command, command.get(0));
    }

    /** {@code command}, which ends up running {@code program}. */
    private static RestoreWorkload start(Path dir, String name, List<String> command, String program)
            throws IOException, InterruptedException {
        Path out = dir.resolve(name + ".out");
        String cmd = command.stream().map(RestoreWorkload::quote).collect(Collectors.joining(" "));
        Process sh = new ProcessBuilder("sh", "-c", cmd + " >" + quote(out.toString()) + " 2>&1 </dev/null & echo $!")
                .directory(dir.toFile()).redirectErrorStream(true).start();
        String printed = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(sh.waitFor(30, TimeUnit.SECONDS), "sh did not exit");
        assertEquals(0, sh.exitValue(), "sh failed: " + printed);
        int pid = Integer.parseInt(printed);
        String exe = awaitExe(pid, program);
        return new RestoreWorkload(pid, out, dir, exe, List.copyOf(command));
    }

    /** The exe once sh's child has exec'd the command (its exe is sh's until then). */
    private static String awaitExe(int pid, String program) throws IOException, InterruptedException {
        Path wanted = Path.of(program).toRealPath();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (System.nanoTime() < end) {
            String exe = RestoreProcs.exe(pid);
            if (exe == null) {
                fail("workload " + program + " (pid " + pid + ") exited at start");
            }
            if (Path.of(exe).equals(wanted)) {
                return exe;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("pid " + pid + " never exec'd " + program);
    }

    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /**
     * The lines printed so far that carry "pid" and "counter" (none while the output file does not
     * exist yet: a workload piped to another program, whose shell opens the file only as it starts it).
     */
    List<Line> lines() throws IOException {
        List<Line> out = new ArrayList<>();
        if (!Files.exists(output)) {
            return out;
        }
        for (String s : Files.readAllLines(output, StandardCharsets.UTF_8)) {
            Line l = parse(s);
            if (l != null) {
                out.add(l);
            }
        }
        return out;
    }

    /** Every line of the output, as printed. */
    List<String> rawLines() throws IOException {
        return Files.readAllLines(output, StandardCharsets.UTF_8);
    }

    static Line parse(String s) {
        String[] w = s.trim().split(" ");
        if (w.length < 4 || w.length % 2 != 0 || !w[0].equals("pid") || !w[2].equals("counter")) {
            return null;
        }
        Map<String, String> f = new LinkedHashMap<>();
        for (int i = 0; i < w.length; i += 2) {
            f.put(w[i], w[i + 1]);
        }
        return new Line(s, f);
    }

    /** The whole output, for failure messages. */
    String text() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            return "(cannot read " + output + ": " + e + ")";
        }
    }

    /** Waits for a line matching {@code p}. */
    Line awaitLine(String what, Predicate<Line> p) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (System.nanoTime() < end) {
            for (Line l : lines()) {
                if (p.test(l)) {
                    return l;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no line with " + what + " from " + command + " within " + PATIENCE_MS
                + " ms; output:\n" + text());
    }

    /** Waits for a raw output line starting with {@code prefix}. */
    String awaitRaw(String prefix) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (System.nanoTime() < end) {
            for (String l : rawLines()) {
                if (l.startsWith(prefix)) {
                    return l;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no line starting '" + prefix + "' within " + PATIENCE_MS + " ms; output:\n" + text());
    }

    /** The last counter printed so far (-1 if none). */
    long lastCounter() throws IOException {
        List<Line> l = lines();
        return l.isEmpty() ? -1 : l.get(l.size() - 1).counter();
    }

    /** Kills the process under this pid if it still runs this workload's exe (not a recycled pid), and waits it out. */
    @Override
    public void close() throws InterruptedException {
        RestoreProcs.killIfExe(pid, exe);
    }
}
