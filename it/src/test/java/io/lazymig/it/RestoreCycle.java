package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One workload taken through dump and restore by the real commands: start it, let it print, note
 * its /proc state, {@code lazymig dump} it (which kills it), {@code lazymig restore} it in the
 * background, then check what it prints. {@link #close()} kills the restored process (restore
 * then exits with 137) and anything else left.
 */
final class RestoreCycle implements AutoCloseable {
    final Path dir;
    final Path images;
    final RestoreWorkload workload;
    RestoreProcs.State before;
    long lastBefore = -1;
    RestoreLauncher.Running restore;
    private final List<AutoCloseable> extras = new ArrayList<>();

    RestoreCycle(Path dir, RestoreWorkload workload) {
        this.dir = dir;
        this.images = dir.resolve("img");
        this.workload = workload;
    }

    int pid() {
        return workload.pid;
    }

    /** Waits for {@code lines} lines, notes the state (cmdline too when asked), dumps; the workload is gone after. */
    RestoreLauncher.Result dump(int lines, boolean withCmdline, String... extra) throws IOException, InterruptedException {
        workload.awaitLine("counter " + (lines - 1), l -> l.counter() >= lines - 1);
        before = RestoreProcs.state(pid(), withCmdline);
        List<String> args = new ArrayList<>(List.of("dump", "-t", Integer.toString(pid()), "-D", images.toString()));
        args.addAll(List.of(extra));
        RestoreLauncher.Result r = RestoreLauncher.run(dir, args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.toString());
        lastBefore = workload.lastCounter();
        if (!List.of(extra).contains("--leave-running")) {
            RestoreProcs.awaitGone(pid());
        }
        return r;
    }

    /** Starts {@code lazymig restore -D IMAGES ARGS...} in the background. */
    RestoreLauncher.Running restore(String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("restore", "-D", images.toString(), "-v", "3"));
        a.addAll(List.of(args));
        restore = RestoreLauncher.start(dir.resolve("restore.log"), a.toArray(String[]::new));
        return restore;
    }

    /**
     * A lazy-pages daemon on this host for the images (log DIR/lazy-pages.log, socket DIR/lazy.sock,
     * closed with this cycle), then {@code restore --lazy-pages} from it. Returns the daemon.
     */
    RestoreLauncher.Running restoreFromLocalDaemon() throws IOException, InterruptedException {
        Path sock = dir.resolve("lazy.sock");
        RestoreLauncher.Running daemon = closeLater(RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock, images));
        restore("--lazy-pages", "--address", sock.toString());
        return daemon;
    }

    /** Keeps {@code c} to close with this cycle (a daemon, another workload). */
    <T extends AutoCloseable> T closeLater(T c) {
        extras.add(c);
        return c;
    }

    /** Waits for the first line the restored process prints (a counter past the last one before dump). */
    RestoreWorkload.Line awaitRestoredLine() throws IOException, InterruptedException {
        return workload.awaitLine("counter " + (lastBefore + 1) + " after restore", l -> l.counter() > lastBefore);
    }

    /**
     * The whole output is one run: counters 0, 1, 2... each once (stdout's offset restored: nothing
     * overwritten or skipped), one pid, one checksum.
     */
    void assertOneContinuousRun(int expectedPid) throws IOException {
        List<RestoreWorkload.Line> lines = workload.lines();
        assertTrue(lines.size() > lastBefore + 1, "no line after restore:\n" + workload.text());
        String sum = lines.get(0).sum();
        for (int i = 0; i < lines.size(); i++) {
            RestoreWorkload.Line l = lines.get(i);
            assertEquals(i, l.counter(), "line " + i + " out of sequence:\n" + workload.text());
            assertEquals(sum, l.sum(), "checksum changed at counter " + l.counter() + ":\n" + workload.text());
            assertEquals(expectedPid, l.pid(), "pid in line " + i + ":\n" + workload.text());
        }
    }

    /** The restored process's /proc state equals the original's (cmdline compared when it was noted). */
    void assertSameProcState() throws IOException {
        RestoreProcs.State after = RestoreProcs.state(pid(), before.cmdline() != null);
        assertEquals(before.exe(), after.exe(), "exe");
        assertEquals(before.cmdline(), after.cmdline(), "cmdline");
        assertEquals(before.comm(), after.comm(), "comm");
        assertEquals(before.cwd(), after.cwd(), "cwd");
        assertEquals(before.sigBlk(), after.sigBlk(), "SigBlk");
        assertEquals(before.sigIgn(), after.sigIgn(), "SigIgn");
        assertEquals(before.sigCgt(), after.sigCgt(), "SigCgt");
        assertEquals(before.fds(), after.fds(), "fds (targets and open flags)");
    }

    /** Kills the restored process and checks restore exits with its status (SIGKILL: 137). */
    void killRestoredAndAwaitRestore() throws IOException, InterruptedException {
        assertTrue(RestoreProcs.running(pid()), "restored process " + pid() + " is not running");
        RestoreProcs.killIfExe(pid(), workload.exe);
        assertEquals(137, restore.awaitExit(), "restore's exit status after SIGKILL of the process:\n" + restore.log());
        assertFalse(RestoreProcs.exists(pid()), "restore did not reap " + pid());
    }

    @Override
    public void close() throws Exception {
        workload.close();
        for (AutoCloseable c : extras) {
            c.close();
        }
        if (restore != null) {
            restore.close();
        }
    }
}
