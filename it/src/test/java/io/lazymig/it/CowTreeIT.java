package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.dump.ProcPagemap;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Private memory shared copy-on-write in a tree (it/workloads/cow-tree.c: a parent fills 64 MiB of
 * private anonymous memory and forks three children; c1 rewrites the first half of its copy, the
 * others never write it): dumped once — the children's shared pages are PE_COW, with no data, so the
 * pages files hold the parent's 64 MiB and c1's own 32 MiB, not four copies — and restored shared:
 * after restore, eager or lazy, every process's region is byte-exact (the workload's checksums and
 * pattern checks) and every page a child never wrote is the parent's very page again (one PFN in
 * both /proc/PID/pagemap, read as root), the pages c1 wrote its own.
 */
class CowTreeIT {
    private static final long PATIENCE_MS = 60_000;
    private static final int MIB = 64;
    private static final long PAGES = (long) MIB << 20 >> 12;
    private static final List<String> ROLES = List.of("parent", "c0", "c1", "c2");
    private static final Pattern LINE = Pattern.compile(
            "role (\\w+) pid (\\d+) ppid (\\d+) counter (\\d+) addr ([0-9a-f]+) sum ([0-9a-f]+) (ok|BAD)");

    record Line(String role, int pid, int ppid, long counter, long addr, String sum, boolean ok) {
    }

    @TempDir
    Path dir;

    private final List<Integer> pids = new ArrayList<>();

    @AfterEach
    void killTree() throws Exception {
        for (int pid : pids) {
            String exe = RestoreProcs.exists(pid) ? RestoreProcs.exe(pid) : null;
            if (exe != null && exe.contains("cow-tree")) {
                try {
                    SystemInfo.kill(pid, SystemInfo.SIGKILL);
                } catch (io.lazymig.jni.NativeException e) {
                    // a child gone meanwhile: it dies with its parent (PR_SET_PDEATHSIG)
                }
            }
        }
    }

    @Test
    @Timeout(240)
    void eager() throws Exception {
        dumpAndRestore(false);
    }

    /** The shared pages eager in the parent before its children's fork, everything else of every process lazy. */
    @Test
    @Timeout(240)
    void lazy() throws Exception {
        dumpAndRestore(true);
    }

    /**
     * lazymig migrate to an agent on 127.0.0.1 (--any-pid: the originals hold their pids while
     * frozen): the frozen tree is served as it is (dump --lazy-pages), the parent's shared pages
     * travel with the images, and the four processes on the other side share them again.
     */
    @Test
    @Timeout(240)
    void migratedToAnAgent() throws Exception {
        Path key = dir.resolve("auth.key");
        RestoreLauncher.Result k = RestoreLauncher.run(dir, "keygen", key.toString());
        assertEquals(0, k.exit(), k.toString());
        int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Path out = Files.createDirectories(dir.resolve("out"));
        Path work = Files.createDirectories(dir.resolve("agent"));
        try (RestoreLauncher.Running agent = RestoreLauncher.start(dir.resolve("agent.log"), "agent", "--port",
                Integer.toString(port), "--address", "127.0.0.1", "--auth-key", key.toString(), "-D", work.toString());
             Workload w = Workload.c("cow-tree", Integer.toString(MIB), "200", out.toString())) {
            agent.awaitLog("agent: ready on");
            Map<String, Line> before = logs(out).awaitAllPast(Map.of(), 1);
            List<Integer> old = new ArrayList<>();
            for (Line l : before.values()) {
                old.add(l.pid());
                pids.add(l.pid());
            }
            RestoreLauncher.Result done = RestoreLauncher.run(dir, "migrate", "-t", Integer.toString(w.pid), "--to",
                    "127.0.0.1", "--port", Integer.toString(port), "--auth-key", key.toString(), "--any-pid", "--share-cow");
            assertEquals(0, done.exit(), done + "\nagent:\n" + agent.log());
            Map<String, Line> after = awaitOthers(out, old);
            for (String role : ROLES) {
                pids.add(after.get(role).pid());
                assertEquals(before.get(role).sum(), after.get(role).sum(), role + ": its region, byte for byte");
                assertTrue(after.get(role).ok(), role + ": " + after.get(role));
            }
            assertEquals(after.get("parent").pid(), after.get("c0").ppid(), "c0 is the new parent's child");
            assertShared(after, "after migrate");
            SystemInfo.kill(after.get("parent").pid(), SystemInfo.SIGKILL);
        }
    }

    /** Waits until every role has printed two lines from a pid not in {@code old}; returns the last of them. */
    private static Map<String, Line> awaitOthers(Path out, List<Integer> old) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (true) {
            Map<String, Line> last = new LinkedHashMap<>();
            for (String role : ROLES) {
                List<Line> fresh = logs(out).lines(role).stream().filter(l -> !old.contains(l.pid())).toList();
                if (fresh.size() >= 2) {
                    last.put(role, fresh.get(fresh.size() - 1));
                }
            }
            if (last.size() == ROLES.size()) {
                return last;
            }
            if (System.nanoTime() > end) {
                fail("not every process of the tree printed on the other side: " + last);
            }
            Thread.sleep(20);
        }
    }

    private void dumpAndRestore(boolean lazy) throws Exception {
        Path out = Files.createDirectories(dir.resolve("out"));
        Path images = dir.resolve("images");
        try (Workload w = Workload.c("cow-tree", Integer.toString(MIB), "200", out.toString())) {
            Map<String, Line> before = logs(out).awaitAllPast(Map.of(), 1);
            for (Line l : before.values()) {
                pids.add(l.pid());
            }
            assertShared(before, "before the dump");

            LazymigCli.Result d = LazymigCli.run("dump", "-t", Integer.toString(w.pid), "-D", images.toString());
            assertEquals(0, d.exit(), d.toString());
            Checkpoint cp = Checkpoint.read(images);
            assertEquals(4, cp.processes().size());
            Map<String, ProcessImage> image = new LinkedHashMap<>();
            for (String role : ROLES) {
                image.put(role, cp.process(before.get(role).pid()).orElseThrow());
            }
            assertEquals(0, image.get("parent").pagemap().cowPages(), "the root has no parent to share with");
            assertTrue(image.get("c0").pagemap().cowPages() >= PAGES, "c0's region is the parent's: "
                    + image.get("c0").pagemap().cowPages());
            assertTrue(image.get("c2").pagemap().cowPages() >= PAGES, "c2's region is the parent's");
            long c1 = image.get("c1").pagemap().cowPages();
            assertTrue(c1 >= PAGES / 2 && c1 < PAGES, "half of c1's region is the parent's: " + c1);
            long pagesBytes = pagesFilesBytes(images);
            assertTrue(pagesBytes < (MIB + MIB / 2 + 16L) << 20, "the pages files hold the parent's region and c1's "
                    + "own half, not four copies: " + pagesBytes + " bytes");
            for (int pid : pids) {
                RestoreProcs.awaitGone(pid);
            }
            Map<String, Line> dumped = logs(out).last();

            Path socket = dir.resolve("lazy.sock");
            try (RestoreLauncher.Running daemon = lazy ? RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), socket,
                    images) : null;
                 RestoreLauncher.Running r = lazy
                         ? RestoreLauncher.start(dir.resolve("restore.log"), "restore", "--lazy-pages", "--address",
                                 socket.toString(), "-D", images.toString(), "-v", "3")
                         : RestoreLauncher.start(dir.resolve("restore.log"), "restore", "-D", images.toString(), "-v", "3")) {
                String running = r.awaitLog("restore: process " + w.pid + " running after");
                assertTrue(running.contains("bytes shared copy-on-write by the fork"), running);
                if (lazy) {
                    daemon.awaitLog("lazy-pages: every page is in");
                    assertEquals(0, daemon.awaitExit(), daemon.log());
                }
                Map<String, Line> after = logs(out).awaitAllPast(dumped, 1);
                for (String role : ROLES) {
                    Line b = before.get(role);
                    Line a = after.get(role);
                    assertEquals(b.pid(), a.pid(), role + ": pid");
                    assertEquals(b.sum(), a.sum(), role + ": its region, byte for byte");
                    assertEquals(b.addr(), a.addr(), role + ": its region's address");
                }
                assertShared(after, "after the " + (lazy ? "lazy" : "eager") + " restore");
                for (String role : ROLES) {
                    for (Line l : logs(out).lines(role)) {
                        assertTrue(l.ok(), role + ": " + l);
                    }
                }
                SystemInfo.kill(w.pid, SystemInfo.SIGKILL);
            }
        }
    }

    /**
     * c0's and c2's regions and the second half of c1's are the parent's pages (the same PFN at every
     * address), the first half of c1's is its own (no page the parent's).
     */
    private static void assertShared(Map<String, Line> lines, String when) throws IOException {
        long addr = lines.get("parent").addr();
        long[] parent = pfns(lines.get("parent").pid(), addr);
        for (String role : List.of("c0", "c1", "c2")) {
            long[] child = pfns(lines.get(role).pid(), addr);
            int same = 0;
            int sameInOwnHalf = 0;
            for (int i = 0; i < child.length; i++) {
                if (ProcPagemap.present(child[i]) && ProcPagemap.pfn(child[i]) != 0
                        && ProcPagemap.pfn(child[i]) == ProcPagemap.pfn(parent[i])) {
                    same++;
                    if (i < child.length / 2) {
                        sameInOwnHalf++;
                    }
                }
            }
            int expected = role.equals("c1") ? child.length / 2 : child.length;
            assertEquals(expected, same, when + ": " + role + "'s pages that are the parent's");
            if (role.equals("c1")) {
                assertEquals(0, sameInOwnHalf, when + ": c1's own half is its own");
            }
        }
    }

    private static long[] pfns(int pid, long addr) throws IOException {
        try (ProcPagemap pm = new ProcPagemap(pid, 4096)) {
            return pm.read(addr, addr + ((long) MIB << 20));
        }
    }

    private static long pagesFilesBytes(Path images) throws IOException {
        long total = 0;
        try (Stream<Path> s = Files.list(images)) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().startsWith("pages-")) {
                    total += Files.size(p);
                }
            }
        }
        return total;
    }

    /** The workload's per-role logs in {@code out}. */
    private static RoleLogs<Line> logs(Path out) {
        return new RoleLogs<>(out, ROLES, LINE, m -> new Line(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                Long.parseLong(m.group(4)), Long.parseUnsignedLong(m.group(5), 16), m.group(6), m.group(7).equals("ok")), Line::counter, PATIENCE_MS);
    }
}
