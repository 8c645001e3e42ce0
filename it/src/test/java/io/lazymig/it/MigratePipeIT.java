package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lazymig migrate} of a process whose stdout is a pipe to a cat outside it, to an agent on
 * this host (127.0.0.1, so --any-pid: the frozen source keeps its pid): refused before anything is
 * frozen, naming migrate's --inherit-fd; with --inherit-fd PATH:pipe:[INODE] the process runs on
 * under the agent, its stdout appending to PATH from the line after the last one cat got.
 */
class MigratePipeIT {
    private static final Pattern RUNS_AS = Pattern.compile("runs on \\S+ as pid (\\d+)");

    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void stdoutPipedToAnOutsideProcess() throws Exception {
        Path key = dir.resolve("auth.key");
        RestoreLauncher.Result k = RestoreLauncher.run(dir, "keygen", key.toString());
        assertEquals(0, k.exit(), k.toString());
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path work = Files.createDirectories(dir.resolve("agent"));
        Path out = dir.resolve("cat.out");
        try (RestoreLauncher.Running agent = RestoreLauncher.start(dir.resolve("agent.log"), "agent", "--port",
                Integer.toString(port), "--address", "127.0.0.1", "--auth-key", key.toString(), "-D", work.toString());
             RestoreWorkload w = PipedToCat.start(dir, out)) {
            agent.awaitLog("agent: ready on");
            w.awaitLine("counter 3", l -> l.counter() >= 3);
            String pipe = Files.readSymbolicLink(Path.of("/proc", Integer.toString(w.pid), "fd", "1")).toString();
            String[] migrate = {"migrate", "-t", Integer.toString(w.pid), "--to", "127.0.0.1", "--port",
                Integer.toString(port), "--auth-key", key.toString(), "--any-pid"};

            RestoreLauncher.Result refused = RestoreLauncher.run(dir, migrate);
            assertEquals(1, refused.exit(), refused.toString());
            assertEquals(1, refused.errorLines().size(), refused.toString());
            assertTrue(refused.errorLines().get(0).startsWith("lazymig migrate: process " + w.pid + " fd 1 is " + pipe
                    + ", which process "), refused.toString());
            assertTrue(refused.errorLines().get(0).endsWith("migrate with --inherit-fd 'PATH:" + pipe + "' to say what "
                    + "it becomes on the destination (bytes unread at the freeze stay in this host's pipe)"),
                    refused.toString());
            assertTrue(RestoreProcs.running(w.pid), "nothing frozen: the process runs on");
            long before = w.lastCounter();
            w.awaitLine("counter " + (before + 2), l -> l.counter() >= before + 2);

            Path log = dir.resolve("stdout-on-a.log");
            String[] withInherit = java.util.stream.Stream.concat(java.util.Arrays.stream(migrate),
                    java.util.stream.Stream.of("--inherit-fd", log + ":" + pipe)).toArray(String[]::new);
            RestoreLauncher.Result done = RestoreLauncher.run(dir, withInherit);
            assertEquals(0, done.exit(), done.toString() + "\nagent:\n" + agent.log());
            Matcher m = RUNS_AS.matcher(done.stdout());
            assertTrue(m.find(), done.toString());
            int onA = Integer.parseInt(m.group(1));
            long last = lastCounter(out);
            try (RestoreWorkload after = RestoreWorkload.adopt(onA, log, dir, w.command)) {
                RestoreWorkload.Line first = after.awaitLine("a line on A", l -> true);
                assertEquals(last + 1, first.counter(), "the first line on A follows the last one cat got on B:\n"
                        + after.text());
                after.awaitLine("counter " + (last + 3), l -> l.counter() >= last + 3);
            }
            // the migration's threads end with it (and the daemon, its checkpoint with them): a copier
            // left waiting on its queue kept ~2 MiB of the agent's heap per migration, for good
            awaitNoThreadNamed(agent.process.pid(), "lazy-server");
        }
    }

    /** Waits (10 s at most) until no thread of {@code pid} has a name starting with {@code prefix}. */
    private static void awaitNoThreadNamed(long pid, String prefix) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<String> left;
        do {
            left = new ArrayList<>();
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path t : tasks) {
                    try {
                        String comm = Files.readString(t.resolve("comm"), StandardCharsets.UTF_8).strip();
                        if (comm.startsWith(prefix)) {
                            left.add(t.getFileName() + " " + comm);
                        }
                    } catch (NoSuchFileException e) {
                        // the thread ended meanwhile
                    }
                }
            }
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        fail("the agent still runs threads of a finished migration: " + left);
    }

    private static long lastCounter(Path out) throws java.io.IOException {
        long last = -1;
        for (String s : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            RestoreWorkload.Line l = RestoreWorkload.parse(s);
            if (l != null) {
                last = l.counter();
            }
        }
        return last;
    }

}
