package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real services that lazymig cannot dump yet: redis-server and node. {@code lazymig dump
 * --leave-running} refuses each with exit status 1 and one line naming one fd and its kind, and
 * that kind is one the next issue adds (a pipe or a socket; an epoll or eventfd no longer: an epoll is
 * named with the fd it watches of those kinds); every other fd of the process is of a supported kind; nothing crashes and the service goes on (redis answers
 * PING, node prints on), not stopped, not traced. What each one has, measured on Debian 12
 * (redis 7.0.15, node 20): redis a pipe pair, an epoll and its listening socket; node epolls,
 * eventfds and pipe pairs (libuv). Skipped, saying why, when the program is not installed ('make
 * deps-test' installs both with apt-get).
 */
class DumpServicesIT {
    /** The fd kinds the next issue adds, as /proc/PID/fd links name them. */
    private static final Pattern NEXT_ISSUE = Pattern.compile("pipe:\\[\\d+\\]|socket:\\[\\d+\\]");
    /** The event fds, supported now. */
    private static final Pattern EVENT_FDS = Pattern.compile("anon_inode:(\\[(eventpoll|eventfd|timerfd|signalfd)\\]|inotify)");
    private static final Pattern REFUSAL = Pattern.compile(
            "lazymig dump: process (\\d+) fd (\\d+) (?:\\(epoll\\) watches fd (\\d+), which )?is an? (pipe|socket) "
                    + "\\(([^)]*)\\): only regular files, /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, "
                    + "terminals, pipes, FIFOs, eventfds, timerfds, signalfds, inotify, epoll and TCP/UDP, unix and "
                    + "netlink sockets are supported yet\n");

    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void redisIsRefusedOnlyForTheFdKindsOfTheNextIssue() throws Exception {
        Path redis = Path.of("/usr/bin/redis-server");
        assumeTrue(Files.isExecutable(redis), "redis-server is not installed ('make deps-test' installs it with apt-get, "
                + "which failed or was not run)");
        Path sock = dir.resolve("redis.sock");
        try (RestoreWorkload w = RestoreWorkload.start(dir, "redis", List.of(redis.toString(), "--port", "0",
                "--unixsocket", sock.toString(), "--save", "", "--appendonly", "no"))) {
            assertEquals("+PONG", ping(sock, w), "redis answers before the dump");
            Map<Integer, String> kinds = refusedForNextIssueKindsOnly(w);
            assertTrue(kinds.values().stream().anyMatch(t -> t.startsWith("socket:")), "redis listens on a socket: " + kinds);
            assertLeftRunning(w);
            assertEquals("+PONG", ping(sock, w), "redis answers after the refused dump");
        }
    }

    /**
     * node's fds (libuv's epolls watching eventfds and pipe pairs, pipes on stdio) are all of kinds
     * lazymig dumps now: dump --leave-running succeeds, every image crit reads, and node goes on.
     */
    @Test
    @Timeout(120)
    void nodeDumpsAndGoesOn() throws Exception {
        Path node = Stream.of("/usr/bin/node", "/usr/local/bin/node").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        assumeTrue(node != null, "node is not installed ('make deps-test' installs nodejs with apt-get, which failed or "
                + "was not run)");
        try (RestoreWorkload w = RestoreWorkload.start(dir, "node", List.of(node.toString(), "-e",
                "let n = 0; setInterval(() => console.log(`pid ${process.pid} counter ${n++} sum 0`), 50)"))) {
            w.awaitLine("counter 2", l -> l.counter() >= 2);
            Map<Integer, String> fds = fdTargets(w.pid);
            assertTrue(fds.values().stream().anyMatch(t -> t.contains("eventpoll")), "libuv's epoll: " + fds);
            Path images = dir.resolve("images");
            LazymigCli.Result r = LazymigCli.run("dump", "--leave-running", "-t", Integer.toString(w.pid), "-D",
                    images.toString());
            assertEquals(0, r.exit(), r.toString());
            io.lazymig.images.Checkpoint cp = io.lazymig.images.Checkpoint.read(images);
            assertTrue(cp.files().stream().anyMatch(f -> f instanceof io.lazymig.images.Epoll), "an epoll in files.img");
            assertLeftRunning(w);
            long last = w.lastCounter();
            w.awaitLine("counter " + (last + 3) + " after the dump", l -> l.counter() >= last + 3);
        }
    }

    /**
     * Runs dump --leave-running and checks the refusal: exit 1, one line naming an fd whose kind the
     * next issue adds, nothing written; every fd of the process is of a supported kind or of those.
     * Returns the fds of the next issue's kinds (fd to link target).
     */
    private Map<Integer, String> refusedForNextIssueKindsOnly(RestoreWorkload w) throws Exception {
        Map<Integer, String> fds = fdTargets(w.pid);
        Map<Integer, String> nextIssue = new TreeMap<>();
        for (Map.Entry<Integer, String> e : fds.entrySet()) {
            String t = e.getValue();
            if (NEXT_ISSUE.matcher(t).matches()) {
                nextIssue.put(e.getKey(), t);
            } else {
                Path viaProc = Path.of("/proc", Integer.toString(w.pid), "fd", Integer.toString(e.getKey()));
                assertTrue(t.equals("/dev/null") || t.startsWith("/dev/pts/") || Files.isRegularFile(viaProc)
                        || EVENT_FDS.matcher(t).matches() || t.equals("/dev/urandom"),
                        "fd " + e.getKey() + " -> " + t + " is neither supported nor a kind of the next issue: " + fds);
            }
        }
        assertFalse(nextIssue.isEmpty(), "no fd of the next issue's kinds: " + fds);

        Path images = dir.resolve("images");
        LazymigCli.Result r = LazymigCli.run("dump", "--leave-running", "-t", Integer.toString(w.pid), "-D",
                images.toString());
        assertEquals(1, r.exit(), r.toString());
        assertEquals("", r.stdout(), r.toString());
        assertThat(r.stderr(), matchesPattern(REFUSAL));
        Matcher m = REFUSAL.matcher(r.stderr());
        assertTrue(m.matches());
        assertEquals(w.pid, Integer.parseInt(m.group(1)));
        int named = Integer.parseInt(m.group(3) != null ? m.group(3) : m.group(2));
        assertEquals(nextIssue.get(named), m.group(5), "the refusal names the fd's own target");
        if (m.group(3) != null) {
            assertEquals("anon_inode:[eventpoll]", fds.get(Integer.parseInt(m.group(2))), "an epoll watching it");
        }
        assertFalse(r.stderr().contains("Exception"), r.toString());
        assertFalse(Files.exists(images), "a refused dump must write nothing");
        return nextIssue;
    }

    private static void assertLeftRunning(RestoreWorkload w) throws IOException {
        assertTrue(RestoreProcs.exists(w.pid), "the process must be left running");
        assertEquals("0", RestoreProcs.status(w.pid, "TracerPid"), "the process must not stay traced");
        String state = RestoreProcs.stateLetter(w.pid);
        assertTrue(Set.of("S", "R").contains(state), "state " + state);
    }

    private static Map<Integer, String> fdTargets(int pid) throws IOException {
        Map<Integer, String> fds = new TreeMap<>();
        try (Stream<Path> s = Files.list(Path.of("/proc", Integer.toString(pid), "fd"))) {
            for (Path p : s.toList()) {
                try {
                    fds.put(Integer.parseInt(p.getFileName().toString()), Files.readSymbolicLink(p).toString());
                } catch (java.nio.file.NoSuchFileException e) {
                    // closed meanwhile
                }
            }
        }
        return fds;
    }

    /** PING over redis's unix socket, once it listens: the first line of the answer. */
    private static String ping(Path sock, RestoreWorkload w) throws Exception {
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000;
        while (!Files.exists(sock)) {
            assertTrue(System.nanoTime() < end && RestoreProcs.exists(w.pid), "redis never listened:\n" + w.text());
            Thread.sleep(20);
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            ch.write(ByteBuffer.wrap("PING\r\n".getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer in = ByteBuffer.allocate(64);
            StringBuilder got = new StringBuilder();
            while (got.indexOf("\r\n") < 0 && ch.read(in) > 0) {
                in.flip();
                got.append(StandardCharsets.US_ASCII.decode(in));
                in.clear();
            }
            int eol = got.indexOf("\r\n");
            return eol < 0 ? got.toString() : got.substring(0, eol);
        }
    }
}
