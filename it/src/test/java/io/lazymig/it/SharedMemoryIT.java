package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.Memfd;
import io.lazymig.images.Shmem;
import io.lazymig.images.Vma;
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
 * A parent and a child sharing memory two ways (it/workloads/shared-memory.c: MAP_SHARED anonymous
 * memory and a memfd, mapped before the fork, the memfd also held on fd 3; a sealed memfd of 5000
 * bytes held on fd 4 only), each writing its
 * counter into both shared pages and reading the other's: dumped with each object once, restored
 * eagerly, lazily from a local daemon, and lazily from a lazy server through a lazy client (the
 * images fetched over TCP on loopback). After restore both processes map one object each again
 * (the same inode in both /proc/PID/maps), every byte of both objects and of the private memory is
 * as at dump (the workload's checksums), the sealed memfd has its size, bytes and seals, and each process keeps seeing the other's new counter
 * values through both pages and through fd 3: a write by one is seen by the other.
 */
class SharedMemoryIT {
    private static final long PATIENCE_MS = 30_000;
    private static final List<String> ROLES = List.of("parent", "child");
    private static final Pattern LINE = Pattern.compile("role (\\w+) pid (\\d+) counter (\\d+) peer-anon (\\d+) "
            + "peer-memfd (\\d+) peer-fd (\\d+) sum-anon ([0-9a-f]+) sum-memfd ([0-9a-f]+) sum-private ([0-9a-f]+) "
            + "sum-sealed ([0-9a-f]+) seals (0x[0-9a-f]+) (ok|BAD)");
    private static final Pattern SERVING = Pattern.compile("serving process \\d+ .* on /?127\\.0\\.0\\.1:(\\d+)");

    record Line(String role, int pid, long counter, long peerAnon, long peerMemfd, long peerFd, String sumAnon,
            String sumMemfd, String sumPrivate, String sumSealed, String seals, boolean ok) {
    }

    private enum Mode { EAGER, LAZY, LAZY_REMOTE }

    @TempDir
    Path dir;

    private final List<Integer> pids = new ArrayList<>();
    /** The workload's executable, as /proc/PID/exe names it: what the clean-up kills. */
    private String exe;

    @AfterEach
    void kill() throws Exception {
        for (int pid : pids) {
            RestoreProcs.killIfExe(pid, exe);
        }
    }

    @Test
    @Timeout(180)
    void eager() throws Exception {
        dumpAndRestore(Mode.EAGER);
    }

    /** Shared memory eager, the private memory of both processes lazy, from one local daemon. */
    @Test
    @Timeout(180)
    void lazy() throws Exception {
        dumpAndRestore(Mode.LAZY);
    }

    /** The same, the daemon a lazy client of a lazy server: the shared objects' images travel with the small ones. */
    @Test
    @Timeout(180)
    void lazyFromAServer() throws Exception {
        dumpAndRestore(Mode.LAZY_REMOTE);
    }

    /**
     * lazymig migrate to an agent on 127.0.0.1 (--any-pid: the originals hold their pids while frozen):
     * the frozen tree is served as it is (dump --lazy-pages), the shared objects travel as images, and
     * the two processes on the other side, under new pids, share both objects again.
     */
    @Test
    @Timeout(180)
    void migratedToAnAgent() throws Exception {
        Path key = dir.resolve("auth.key");
        RestoreLauncher.Result k = RestoreLauncher.run(dir, "keygen", key.toString());
        assertEquals(0, k.exit(), k.toString());
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path work = Files.createDirectories(dir.resolve("agent"));
        try (RestoreLauncher.Running agent = RestoreLauncher.start(dir.resolve("agent.log"), "agent", "--port",
                Integer.toString(port), "--address", "127.0.0.1", "--auth-key", key.toString(), "-D", work.toString());
             Workload w = Workload.c("shared-memory", "512", "50")) {
            agent.awaitLog("agent: ready on");
            Map<String, Line> before = await(w.output, Map.of());
            exe = RestoreProcs.exe(w.pid);
            pids.add(before.get("parent").pid());
            pids.add(before.get("child").pid());
            RestoreLauncher.Result done = RestoreLauncher.run(dir, "migrate", "-t", Integer.toString(w.pid), "--to",
                    "127.0.0.1", "--port", Integer.toString(port), "--auth-key", key.toString(), "--any-pid");
            assertEquals(0, done.exit(), done + "\nagent:\n" + agent.log());
            Matcher m = Pattern.compile("runs on \\S+ as pid (\\d+)").matcher(done.stdout());
            assertTrue(m.find(), done.toString());
            int parent = Integer.parseInt(m.group(1));
            Map<String, Line> dumped = lastLines(w.output, before.get("parent").pid());
            Map<String, Line> after = awaitOthers(w.output, List.of(before.get("parent").pid(), before.get("child").pid()));
            assertEquals(parent, after.get("parent").pid(), "the parent's new pid, as migrate says");
            int child = after.get("child").pid();
            pids.add(parent);
            pids.add(child);
            checkShared(w.output, before, after, dumped, parent, child);
            SystemInfo.kill(child, SystemInfo.SIGKILL); // first: it dies with its parent (restored PR_SET_PDEATHSIG)
            SystemInfo.kill(parent, SystemInfo.SIGKILL);
        }
    }

    /**
     * A memfd mapped shared and writable, then sealed with F_SEAL_FUTURE_WRITE (the mapping made
     * before the seal stays writable), and another sealed with F_SEAL_WRITE and mapped read-only:
     * after restore the process writes its counter through the first mapping and reads it back
     * through the fd, the second's bytes are there, and both keep their seals.
     */
    @Test
    @Timeout(180)
    void aMemfdSealedAfterItWasMappedWritableIsMappedAgainBeforeItsSeals() throws Exception {
        String script = String.join("\n",
                "import mmap, os, struct, time, fcntl",
                "FUTURE_WRITE, WRITE, SHRINK, GROW = 0x10, 0x8, 0x2, 0x4",
                "a = os.memfd_create('lazymig-future', os.MFD_ALLOW_SEALING); os.ftruncate(a, 8192)",
                "ma = mmap.mmap(a, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)",
                "fcntl.fcntl(a, fcntl.F_ADD_SEALS, FUTURE_WRITE | SHRINK | GROW)",
                "b = os.memfd_create('lazymig-write', os.MFD_ALLOW_SEALING); os.write(b, b'sealed bytes' * 100)",
                "fcntl.fcntl(b, fcntl.F_ADD_SEALS, WRITE | SHRINK | GROW)",
                "mb = mmap.mmap(b, 1200, mmap.MAP_SHARED, mmap.PROT_READ)",
                "n = 0",
                "while True:",
                "    ma[0:8] = struct.pack('Q', n)",
                "    seen = struct.unpack('Q', os.pread(a, 8, 0))[0]",
                "    ok = seen == n and mb[:1200] == b'sealed bytes' * 100",
                "    seals = '%x-%x' % (fcntl.fcntl(a, fcntl.F_GET_SEALS), fcntl.fcntl(b, fcntl.F_GET_SEALS))",
                "    print(f'pid {os.getpid()} counter {n} sum {seals}{\"\" if ok else \"-BAD\"}', flush=True)",
                "    n += 1; time.sleep(0.05)",
                "");
        RestoreWorkload w = RestoreWorkload.start(dir, "sealed-mapped", List.of("/usr/bin/python3", "-c", script));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(3, false);
            c.restore();
            RestoreWorkload.Line first = c.awaitRestoredLine();
            w.awaitLine("counter " + (first.counter() + 2), l -> l.counter() >= first.counter() + 2);
            for (RestoreWorkload.Line l : w.lines()) {
                assertEquals("16-e", l.sum(), "written through the mapping, read through the fd, seals kept: " + l);
            }
            c.killRestoredAndAwaitRestore();
        }
    }

    private void dumpAndRestore(Mode mode) throws Exception {
        Path images = dir.resolve("images");
        try (Workload w = Workload.c("shared-memory", "512", "50")) {
            Map<String, Line> before = await(w.output, Map.of());
            int parent = before.get("parent").pid();
            int child = before.get("child").pid();
            exe = RestoreProcs.exe(parent);
            pids.add(parent);
            pids.add(child);
            assertEquals(w.pid, parent);
            long anonInode = inode(parent, "/dev/zero (deleted)");
            assertEquals(anonInode, inode(child, "/dev/zero (deleted)"), "one shared anonymous object before the dump");

            LazymigCli.Result d = LazymigCli.run("dump", "-t", Integer.toString(parent), "-D", images.toString());
            assertEquals(0, d.exit(), d.toString());
            Checkpoint cp = Checkpoint.read(images);
            assertEquals(2, cp.processes().size());
            assertEquals(3, cp.shmems().size(), "each object once for the tree: " + cp.shmems());
            Shmem anon = cp.shmem(anonInode);
            assertFalse(anon.isMemfd());
            assertEquals(512 * 1024, anon.size());
            Shmem memfd = cp.shmems().stream().filter(m -> "lazymig-shared".equals(m.memfdName())).findFirst()
                    .orElseThrow();
            Shmem sealed = cp.shmems().stream().filter(m -> "lazymig-sealed".equals(m.memfdName())).findFirst()
                    .orElseThrow();
            assertEquals(5000, sealed.size(), "a memfd keeps its exact size");
            assertEquals(0xf, sealed.seals());
            assertEquals("lazymig-shared", memfd.memfdName());
            assertEquals(512 * 1024 / 4096, memfd.pagemap().presentBytes() / 4096, "every page of the memfd has data");
            assertTrue(cp.files().stream().anyMatch(f -> f instanceof Memfd m && m.shmid() == memfd.shmid()),
                    "fd 3 is the memfd");
            for (var p : cp.processes()) {
                assertEquals(2, p.vmas().stream().filter(Vma::isShmem).count(), p.pid() + " maps both objects");
                assertTrue(p.pagemap().lazyPages() > 0, p.pid() + " has lazy private pages");
            }
            for (int pid : pids) {
                awaitGone(pid);
            }
            Map<String, Line> dumped = lastLines(w.output);

            Path socket = dir.resolve("lazy.sock");
            List<AutoCloseable> opened = new ArrayList<>();
            try {
                RestoreLauncher.Running daemon = null;
                if (mode == Mode.LAZY) {
                    daemon = RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), socket, images);
                    opened.add(daemon);
                } else if (mode == Mode.LAZY_REMOTE) {
                    RestoreLauncher.Running server = RestoreLauncher.start(dir.resolve("lazy-server.log"), "lazy-pages",
                            "--lazy-server", "-D", images.toString(), "--address", "127.0.0.1", "--port", "0",
                            "--no-auth", "-v", "3");
                    opened.add(server);
                    Matcher s = SERVING.matcher(server.awaitLog("serving process"));
                    assertTrue(s.find(), "no port in the lazy server's log:\n" + server.log());
                    Path fetched = Files.createDirectories(dir.resolve("fetched"));
                    daemon = RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), socket, fetched, "--lazy-client",
                            "127.0.0.1", "--port", s.group(1), "--no-auth");
                    opened.add(daemon);
                    images = fetched;
                    assertTrue(Files.exists(fetched.resolve("pagemap-shmem-" + anonInode + ".img")), "fetched from the server");
                    assertTrue(Files.exists(fetched.resolve("memfd.img")), "fetched from the server");
                }
                RestoreLauncher.Running r = mode == Mode.EAGER
                        ? RestoreLauncher.start(dir.resolve("restore.log"), "restore", "-D", images.toString(), "-v", "3")
                        : RestoreLauncher.start(dir.resolve("restore.log"), "restore", "--lazy-pages", "--address",
                                socket.toString(), "-D", images.toString(), "-v", "3");
                opened.add(r);
                r.awaitLog("restore: process " + parent + " running after");
                Map<String, Line> after = await(w.output, dumped);
                if (daemon != null) {
                    daemon.awaitLog("lazy-pages: every page is in");
                    assertEquals(0, daemon.awaitExit(), daemon.log());
                }
                for (String role : ROLES) {
                    assertEquals(before.get(role).pid(), after.get(role).pid(), role + ": its pid again");
                }
                checkShared(w.output, before, after, dumped, parent, child);
                // the child first: it has SIGKILL as its parent-death signal (restored), so the parent's
                // death may have killed it before our kill reaches it
                SystemInfo.kill(child, SystemInfo.SIGKILL);
                SystemInfo.kill(parent, SystemInfo.SIGKILL);
            } finally {
                for (int i = opened.size() - 1; i >= 0; i--) {
                    opened.get(i).close();
                }
            }
        }
    }

    /**
     * After the restore: both processes map one object each (the same inode in both maps), hold the
     * memfds, have every byte of both objects, the sealed memfd and their private memory as before
     * the dump, and see the other's counters written since, through both pages and through fd 3.
     */
    private static void checkShared(Path out, Map<String, Line> before, Map<String, Line> after,
            Map<String, Line> dumped, int parent, int child) throws Exception {
        long restoredAnon = inode(parent, "/dev/zero (deleted)");
        assertEquals(restoredAnon, inode(child, "/dev/zero (deleted)"), "one shared anonymous object after restore");
        long restoredMemfd = inode(parent, "/memfd:lazymig-shared (deleted)");
        assertEquals(restoredMemfd, inode(child, "/memfd:lazymig-shared (deleted)"), "one memfd after restore");
        assertEquals("/memfd:lazymig-shared (deleted)", Files.readSymbolicLink(RestoreProcs.proc(parent, "fd/3"))
                .toString());
        for (String role : ROLES) {
            Line b = before.get(role);
            Line a = after.get(role);
            assertEquals(b.sumAnon(), a.sumAnon(), role + ": the shared anonymous memory, byte for byte");
            assertEquals(b.sumMemfd(), a.sumMemfd(), role + ": the memfd, byte for byte");
            assertEquals(b.sumPrivate(), a.sumPrivate(), role + ": its private memory, byte for byte");
            assertEquals(b.sumSealed(), a.sumSealed(), role + ": the sealed memfd of 5000 bytes on fd 4");
            assertEquals("0xf", a.seals(), role + ": its seals (SHRINK, GROW, WRITE, SEAL)");
        }
        // each sees, through both shared pages and through fd 3, counters the other wrote after the restore
        Map<String, Line> later = await(out, Map.of("parent", dumped.get("parent").counter() + 5,
                "child", dumped.get("child").counter() + 5));
        for (String role : ROLES) {
            String peer = role.equals("parent") ? "child" : "parent";
            long peerAtDump = dumped.get(peer).counter();
            Line l = later.get(role);
            assertTrue(l.peerAnon() > peerAtDump + 1, role + " sees " + peer + "'s writes after restore (anon): " + l);
            assertTrue(l.peerMemfd() > peerAtDump + 1, role + " sees " + peer + "'s writes after restore (memfd): "
                    + l);
            assertTrue(l.peerFd() > peerAtDump + 1, role + " sees " + peer + "'s writes through fd 3: " + l);
        }
        assertAllOk(out);
    }

    /** The inode of the mapping of {@code pid} named {@code name} in /proc/PID/maps. */
    private static long inode(int pid, String name) throws IOException {
        for (String l : Files.readAllLines(RestoreProcs.proc(pid, "maps"))) {
            String[] f = l.trim().split("\\s+", 6);
            if (f.length == 6 && f[5].equals(name)) {
                return Long.parseLong(f[4]);
            }
        }
        throw new AssertionError("process " + pid + " maps no " + name);
    }

    private static Map<String, Line> await(Path out, Map<String, ?> past) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (true) {
            Map<String, Line> last = lastLines(out);
            boolean all = true;
            for (String role : ROLES) {
                Line l = last.get(role);
                Object p = past.get(role);
                long above = p == null ? 2 : p instanceof Line pl ? pl.counter() : (Long) p;
                all &= l != null && l.counter() > above;
            }
            if (all) {
                return last;
            }
            if (System.nanoTime() > end) {
                fail("not both processes printed past " + past + ": " + last);
            }
            Thread.sleep(20);
        }
    }

    private static Map<String, Line> lastLines(Path out) throws IOException {
        Map<String, Line> last = new LinkedHashMap<>();
        for (Line l : lines(out)) {
            last.put(l.role(), l);
        }
        return last;
    }

    /** Each role's last line printed by the tree of {@code parent} (its child: the first child in the output). */
    private static Map<String, Line> lastLines(Path out, int parent) throws IOException {
        Map<String, Line> last = new LinkedHashMap<>();
        int child = -1;
        for (Line l : lines(out)) {
            if (l.role().equals("parent") && l.pid() == parent) {
                last.put("parent", l);
            } else if (l.role().equals("child") && (child < 0 || l.pid() == child)) {
                child = l.pid();
                last.put("child", l);
            }
        }
        return last;
    }

    /** Waits until both roles printed 3 lines from pids other than {@code old}; the last of them. */
    private static Map<String, Line> awaitOthers(Path out, List<Integer> old) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (true) {
            Map<String, Line> last = new LinkedHashMap<>();
            Map<String, Integer> n = new LinkedHashMap<>();
            for (Line l : lines(out)) {
                if (!old.contains(l.pid())) {
                    last.put(l.role(), l);
                    n.merge(l.role(), 1, Integer::sum);
                }
            }
            if (n.getOrDefault("parent", 0) >= 3 && n.getOrDefault("child", 0) >= 3) {
                return last;
            }
            if (System.nanoTime() > end) {
                fail("no lines from the migrated processes: " + last);
            }
            Thread.sleep(20);
        }
    }

    private static List<Line> lines(Path out) throws IOException {
        List<Line> lines = new ArrayList<>();
        for (String s : Files.readAllLines(out)) {
            Matcher m = LINE.matcher(s);
            if (m.matches()) {
                lines.add(new Line(m.group(1), Integer.parseInt(m.group(2)), Long.parseLong(m.group(3)),
                        Long.parseLong(m.group(4)), Long.parseLong(m.group(5)), Long.parseLong(m.group(6)), m.group(7),
                        m.group(8), m.group(9), m.group(10), m.group(11), m.group(12).equals("ok")));
            }
        }
        return lines;
    }

    private static void assertAllOk(Path out) throws IOException {
        List<Line> lines = lines(out);
        assertTrue(lines.size() > 10, "lines: " + lines.size());
        for (Line l : lines) {
            assertTrue(l.ok(), "a BAD line: " + l + "\n" + Files.readString(out));
        }
    }

    private static void awaitGone(int pid) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
        while (RestoreProcs.exists(pid)) {
            if (System.nanoTime() > end) {
                fail("process " + pid + " still exists after the dump");
            }
            Thread.sleep(10);
        }
    }
}
