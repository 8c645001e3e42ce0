package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sockets in a process tree: a listener inherited across fork (a pre-fork server: the parent made
 * it, the child accepts on it) is one socket after restore, held by both at their fds, and the
 * child answers on it; a unix socketpair whose ends the parent and the child hold one each is one
 * pair again after restore, with the data queued on each end.
 */
class SocketsTreeIT {
    @TempDir
    Path dir;

    private final List<Integer> children = new ArrayList<>();

    @AfterEach
    void killChildren() throws Exception {
        for (int pid : children) {
            String exe = RestoreProcs.exists(pid) ? RestoreProcs.exe(pid) : null;
            if (exe != null && exe.contains("python")) { // still ours (a gone child has no exe)
                SystemInfo.kill(pid, SystemInfo.SIGKILL);
            }
        }
    }

    @Test
    @Timeout(180)
    void listenerSharedAcrossForkIsOneSocketAfterRestore() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        String script = String.join("\n",
                "import socket, os, time",
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "s.bind(('127.0.0.1', " + port + ")); s.listen(8)",
                "if os.fork() == 0:",
                "    while True:",
                "        c, _ = s.accept(); c.sendall(f'child {os.getpid()}\\n'.encode()); c.close()",
                "n = 0",
                "while True:",
                "    print(f'pid {os.getpid()} counter {n} sum 0', flush=True); n += 1; time.sleep(0.05)",
                "");
        RestoreWorkload w = RestoreWorkload.start(dir, "prefork", List.of("/usr/bin/python3", "-c", script));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 1", l -> l.counter() >= 1);
            int child = onlyChild(w.pid);
            children.add(child);
            assertEquals("child " + child + "\n", greeting(port), "the child answers before the dump");
            c.dump(3, false);
            RestoreProcs.awaitGone(child);
            c.restore();
            c.awaitRestoredLine();
            assertEquals(child, onlyChild(w.pid), "the child is back with its pid");
            String parentFd = Files.readSymbolicLink(Path.of("/proc", Integer.toString(w.pid), "fd", "3")).toString();
            String childFd = Files.readSymbolicLink(Path.of("/proc", Integer.toString(child), "fd", "3")).toString();
            assertThat(parentFd, matchesPattern("socket:\\[\\d+\\]"));
            assertEquals(parentFd, childFd, "one listening socket for the parent and the child");
            for (int i = 0; i < 3; i++) {
                assertEquals("child " + child + "\n", greeting(port), "the child answers after restore, connection " + i);
            }
            SystemInfo.kill(child, SystemInfo.SIGKILL);
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * A unix socketpair whose ends the parent (fd 3) and the child (fd 4) hold one each, with data
     * queued both ways at dump: after restore they are one pair again (each process only its own
     * end, no stray fd), each end receives what was queued for it, and a reply crosses the pair.
     */
    @Test
    @Timeout(180)
    void socketpairSplitAcrossTheTreeIsOnePairAfterRestore() throws Exception {
        String script = String.join("\n",
                "import socket, os, time, signal",
                "go = []",
                "signal.signal(signal.SIGUSR1, lambda *a: go.append(1))",
                "a, b = socket.socketpair()",
                "a.sendall(b'queued for the child\\n')",
                "kid = os.fork()",
                "if kid == 0:",
                "    a.close()",
                "    b.sendall(b'queued for the parent\\n')",
                "    while not go: time.sleep(0.02)",
                "    got = b.recv(100).decode()",
                "    b.sendall(f'child {os.getpid()} got: {got}'.encode())",
                "    while True: time.sleep(1)",
                "b.close()",
                "n = 0",
                "replies = 0",
                "while True:",
                "    print(f'pid {os.getpid()} counter {n} sum 0 replies {replies}', flush=True); n += 1; time.sleep(0.05)",
                "    if go and replies == 0:",
                "        f = a.makefile()",
                "        for want in ('queued for the parent', f'child {kid} got: queued for the child'):",
                "            got = f.readline().strip()",
                "            print(('' if got == want else 'BAD ') + 'parent got: ' + got, flush=True)",
                "            replies += got == want",
                "");
        RestoreWorkload w = RestoreWorkload.start(dir, "split", List.of("/usr/bin/python3", "-c", script));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 1", l -> l.counter() >= 1);
            int child = onlyChild(w.pid);
            children.add(child);
            String parentFd = Files.readSymbolicLink(Path.of("/proc", Integer.toString(w.pid), "fd", "3")).toString();
            String childFd = Files.readSymbolicLink(Path.of("/proc", Integer.toString(child), "fd", "4")).toString();
            awaitClosed(child, 3); // the child's first step: its fds are read (and dumped) as it then keeps them
            List<String> childFds = fds(child);
            c.dump(3, false);
            RestoreProcs.awaitGone(child);
            c.restore();
            c.awaitRestoredLine();
            assertEquals(child, onlyChild(w.pid), "the child is back with its pid");
            assertEquals(childFds, fds(child), "the child's fds");
            String parentAfter = Files.readSymbolicLink(Path.of("/proc", Integer.toString(w.pid), "fd", "3")).toString();
            String childAfter = Files.readSymbolicLink(Path.of("/proc", Integer.toString(child), "fd", "4")).toString();
            assertThat(parentAfter, matchesPattern("socket:\\[\\d+\\]"));
            assertThat(childAfter, matchesPattern("socket:\\[\\d+\\]"));
            assertNotEquals(parentAfter, childAfter, "each process its own end (before: " + parentFd + ", " + childFd + ")");
            SystemInfo.kill(child, SystemInfo.SIGUSR1);
            SystemInfo.kill(w.pid, SystemInfo.SIGUSR1); // it reads its queue, then waits for the child's reply
            w.awaitLine("replies 2", l -> l.number("replies") == 2);
            assertFalse(w.text().contains("BAD"), w.text());
            SystemInfo.kill(child, SystemInfo.SIGKILL);
            c.killRestoredAndAwaitRestore();
        }
    }

    /** Waits (bounded) until process {@code pid} no longer holds fd {@code fd}. */
    private static void awaitClosed(int pid, int fd) throws InterruptedException {
        Path link = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        while (Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
            assertTrue(System.nanoTime() < end, "process " + pid + " still holds fd " + fd);
            Thread.sleep(10);
        }
    }

    /** The fds of {@code pid}, by number. */
    private static List<String> fds(int pid) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.list(Path.of("/proc", Integer.toString(pid), "fd"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The one child of {@code pid} (/proc/PID/task/PID/children). */
    private static int onlyChild(int pid) throws IOException {
        String list = Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(pid), "children"))
                .trim();
        assertThat("children of " + pid, list, matchesPattern("\\d+"));
        return Integer.parseInt(list);
    }

    private static String greeting(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
