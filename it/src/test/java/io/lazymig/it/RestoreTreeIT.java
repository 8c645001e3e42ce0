package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.Zombie;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process tree (it/workloads/restore-tree.c: a session leader with three children, one of them a
 * group leader with a grandchild, one leading a session of its own, and a zombie) dumped and
 * restored eagerly on the same host: every process comes back with its pid, parent, group and
 * session (the root's parent is restore, as CRIU's root is criu's child), its memory byte-exact
 * (each checks its own checksum and the region it inherited copy-on-write, every line, and prints
 * them), and the zombie is a zombie its parent reaps with its exit code, 42.
 */
class RestoreTreeIT {
    private static final long PATIENCE_MS = 30_000;
    private static final List<String> ROLES = List.of("root", "a", "b", "c", "g");
    private static final Pattern LINE = Pattern.compile(
            "role (\\w+) pid (\\d+) ppid (\\d+) pgid (\\d+) sid (\\d+) counter (\\d+) sum ([0-9a-f]+) cow ([0-9a-f]+) pdeath (\\d+) (ok|BAD)");

    /** One line of a role's log. */
    record Line(String role, int pid, int ppid, int pgid, int sid, long counter, String sum, String cow, int pdeath,
            boolean ok) {
    }

    @TempDir
    Path dir;

    private final List<Integer> pids = new ArrayList<>();

    @AfterEach
    void killTree() throws Exception {
        for (int pid : pids) {
            // a zombie has no exe (b, killed by its parent-death signal once the root is, may be one)
            String exe = RestoreProcs.exists(pid) ? RestoreProcs.exe(pid) : null;
            if (exe != null && exe.contains("restore-tree")) {
                SystemInfo.kill(pid, SystemInfo.SIGKILL);
            }
        }
    }

    @Test
    @Timeout(180)
    void eager() throws Exception {
        dumpAndRestore(false);
    }

    /**
     * The same tree restored lazily from a local lazy-pages daemon: each process hands its own uffd
     * to the one daemon (one connection, a record per process, the zombie's negated pid), which
     * serves them all until every page of every process is in; restore's guard waits for each.
     */
    @Test
    @Timeout(180)
    void lazy() throws Exception {
        dumpAndRestore(true);
    }

    private void dumpAndRestore(boolean lazy) throws Exception {
        Path out = Files.createDirectories(dir.resolve("out"));
        Path images = dir.resolve("images");
        try (Workload w = Workload.c("restore-tree", "8", "100", out.toString())) {
            Map<String, Line> before = logs(out).awaitAllPast(Map.of(), 2);
            for (Line l : before.values()) {
                pids.add(l.pid());
            }
            int root = w.pid;
            assertEquals(root, before.get("root").pid());
            int zombie = zombieChild(root);
            pids.add(zombie);
            assertEquals(root, before.get("root").sid(), "the root leads its session");
            assertEquals(15, before.get("b").pdeath(), "b asked for SIGTERM on its parent's death");

            LazymigCli.Result d = LazymigCli.run("dump", "-t", Integer.toString(root), "-D", images.toString());
            assertEquals(0, d.exit(), d.toString());
            Checkpoint cp = Checkpoint.read(images);
            assertEquals(5, cp.processes().size(), "the root, three children and a grandchild");
            assertEquals(List.of(new Zombie(zombie, root, root, root, "restore-tree", 42 << 8)), cp.zombies());
            for (int pid : pids) {
                awaitGone(pid);
            }
            Map<String, Line> dumped = logs(out).last();

            Path socket = dir.resolve("lazy.sock");
            try (RestoreLauncher.Running daemon = lazy ? RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), socket,
                    images) : null;
                 RestoreLauncher.Running r = lazy
                         ? RestoreLauncher.start(dir.resolve("restore.log"), "restore", "--lazy-pages", "--address",
                                 socket.toString(), "-D", images.toString(), "-v", "3")
                         : RestoreLauncher.start(dir.resolve("restore.log"), "restore", "-D", images.toString(), "-v", "3")) {
                r.awaitLog("restore: process " + root + " running after");
                Map<String, Line> after = logs(out).awaitAllPast(dumped, 2);
                if (lazy) {
                    daemon.awaitLog("lazy-pages: every page is in");
                    r.awaitLog("restore: process " + root + " has all its pages, with its tree");
                    assertEquals(0, daemon.awaitExit(), daemon.log());
                }
                for (String role : ROLES) {
                    Line b = before.get(role);
                    Line a = after.get(role);
                    assertEquals(b.pid(), a.pid(), role + ": pid");
                    if (!role.equals("root")) {
                        assertEquals(b.ppid(), a.ppid(), role + ": ppid");
                    }
                    assertEquals(b.pgid(), a.pgid(), role + ": pgid");
                    assertEquals(b.sid(), a.sid(), role + ": sid");
                    assertEquals(b.sum(), a.sum(), role + ": its memory");
                    assertEquals(b.cow(), a.cow(), role + ": the memory inherited from the root");
                    assertEquals(b.pdeath(), a.pdeath(), role + ": its parent-death signal");
                    assertEquals(dumped.get(role).counter() + 1, firstAfter(out, role, dumped.get(role).counter()),
                            role + " goes on from its last line");
                }
                assertEquals('Z', RestoreProcs.stateLetter(zombie).charAt(0), "the zombie is a zombie again");
                assertEquals(Integer.toString(root), statField(zombie, 4), "the zombie's parent");
                assertEquals("restore-tree", Files.readString(RestoreProcs.proc(zombie, "comm")).strip());
                Files.createFile(out.resolve("reap"));
                awaitText(out.resolve("root.log"), "reaped " + zombie + " status 42");
                assertFalse(RestoreProcs.exists(zombie), "reaped by its parent");
                assertAllOk(out);
                awaitStdoutPast(w.output, after);
                assertSharedStdout(w.output);
                SystemInfo.kill(root, SystemInfo.SIGKILL);
                assertEquals(137, r.awaitExit(), "restore's exit status after SIGKILL of the root:\n" + r.log());
            }
        }
    }

    /** The zombie among the root's children (state Z). */
    private static int zombieChild(int root) throws IOException {
        String children = Files.readString(Path.of("/proc", Integer.toString(root), "task", Integer.toString(root),
                "children")).trim();
        for (String c : children.split("\\s+")) {
            int pid = Integer.parseInt(c);
            if (RestoreProcs.stateLetter(pid).startsWith("Z")) {
                return pid;
            }
        }
        throw new AssertionError("no zombie among the children " + children + " of " + root);
    }

    private static String statField(int pid, int n) throws IOException {
        String s = Files.readString(RestoreProcs.proc(pid, "stat"));
        return s.substring(s.lastIndexOf(')') + 1).trim().split("\\s+")[n - 3];
    }

    /** The workload's per-role logs in {@code out}. */
    private static RoleLogs<Line> logs(Path out) {
        return new RoleLogs<>(out, ROLES, LINE, m -> new Line(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)), Long.parseLong(m.group(6)), m.group(7),
                m.group(8), Integer.parseInt(m.group(9)), m.group(10).equals("ok")), Line::counter, PATIENCE_MS);
    }

    /** The counter of the first line after the one with {@code counter}. */
    private static long firstAfter(Path out, String role, long counter) throws IOException {
        List<Line> lines = logs(out).lines(role);
        for (int i = 0; i < lines.size() - 1; i++) {
            if (lines.get(i).counter() == counter) {
                return lines.get(i + 1).counter();
            }
        }
        throw new AssertionError(role + ": no line after counter " + counter);
    }

    /** Every line of every role says its memory was as expected, and the counters run on without a gap. */
    private static void assertAllOk(Path out) throws IOException {
        for (String role : ROLES) {
            List<Line> lines = logs(out).lines(role);
            for (int i = 0; i < lines.size(); i++) {
                assertTrue(lines.get(i).ok(), role + ": " + lines.get(i));
                assertEquals(i, lines.get(i).counter(), role + ": one continuous run");
            }
        }
    }

    /** Waits until stdout holds a line of every role past {@code after}'s counters. */
    private static void awaitStdoutPast(Path stdout, Map<String, Line> after) throws IOException, InterruptedException {
        for (String role : ROLES) {
            String text = (role.equals("root") ? "pid " + after.get(role).pid() : "role " + role) + " counter "
                    + (after.get(role).counter() + 1) + "\n";
            awaitText(stdout, text);
        }
    }

    /**
     * Every process printed every counter to the stdout they share, none overwritten: after the
     * restore they still share one open file description (one offset), as they did at dump.
     */
    private static void assertSharedStdout(Path stdout) throws IOException {
        Map<String, Long> next = new LinkedHashMap<>();
        Pattern p = Pattern.compile("(?:pid \\d+|role (\\w+)) counter (\\d+)");
        for (String s : Files.readAllLines(stdout)) {
            Matcher m = p.matcher(s);
            assertTrue(m.matches(), "a torn or overwritten line in the shared stdout: '" + s + "'");
            String role = m.group(1) == null ? "root" : m.group(1);
            long expected = next.getOrDefault(role, 0L);
            assertEquals(expected, Long.parseLong(m.group(2)), role + ": every counter once, in order, in " + stdout);
            next.put(role, expected + 1);
        }
        assertEquals(ROLES.size(), next.size(), "every process wrote to stdout: " + next);
    }

    /**
     * A shell running {@code cmd; cmd}: sh waits in wait4 for its child (checksum-loop), both share
     * sh's stdout. Restored, the child goes on with the same memory; killed, sh wakes, runs its
     * next command, and its line lands after the child's (one offset), with the child's status.
     */
    @Test
    @Timeout(180)
    void shellWithChildren() throws Exception {
        Path images = dir.resolve("images");
        String loop = Workloads.path("checksum-loop");
        try (Workload w = Workload.shell(loop + " 8 100; echo \"exited $?\"")) {
            Workload.Line first = w.awaitLine("the child's third line", l -> l.counter() >= 2);
            int sh = w.pid;
            int child = first.pid();
            pids.add(sh);
            pids.add(child);
            assertEquals(Integer.toString(sh), statField(child, 4), "the loop is the shell's child");
            LazymigCli.Result d = LazymigCli.run("dump", "-t", Integer.toString(sh), "-D", images.toString());
            assertEquals(0, d.exit(), d.toString());
            assertEquals(2, Checkpoint.read(images).processes().size());
            awaitGone(child);
            awaitGone(sh);
            Workload.Line last = w.lastLine();
            try (RestoreLauncher.Running r = RestoreLauncher.start(dir.resolve("restore.log"), "restore", "-D",
                    images.toString(), "-v", "3")) {
                r.awaitLog("restore: process " + sh + " running after");
                Workload.Line next = w.awaitCounterAbove(last.counter() + 1);
                assertEquals(child, next.pid());
                assertEquals(last.sum(), next.sum(), "the child's memory");
                assertEquals(Integer.toString(sh), statField(child, 4), "the loop is the shell's child again");
                SystemInfo.kill(child, 15);
                assertEquals(0, r.awaitExit(), "sh ran its next command and exited:\n" + r.log());
                List<String> text = Files.readAllLines(w.output);
                assertEquals("exited 143", text.get(text.size() - 1), "sh's line after the child's, none overwritten");
                int end = text.size() - 1;
                if (text.get(end - 1).equals("Terminated")) {
                    end--; // dash reports a child killed by SIGTERM
                }
                long counter = 0;
                for (String s : text.subList(0, end)) {
                    assertTrue(s.startsWith("pid " + child + " counter " + counter + " "), "line " + counter + ": " + s);
                    counter++;
                }
            }
        }
    }

    private static void awaitText(Path file, String text) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (!Files.readString(file).contains(text)) {
            if (System.nanoTime() > end) {
                fail(file + " does not say '" + text + "':\n" + Files.readString(file));
            }
            Thread.sleep(20);
        }
    }

    private static void awaitGone(int pid) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (RestoreProcs.exists(pid)) {
            if (System.nanoTime() > end) {
                fail("process " + pid + " is still there after the dump");
            }
            Thread.sleep(10);
        }
    }
}
