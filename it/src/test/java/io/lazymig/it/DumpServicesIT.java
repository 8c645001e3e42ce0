package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real services through lazymig on this host. redis-server (an epoll watching its listening TCP
 * and unix sockets, a pipe pair, bio threads) dumps and restores, eagerly and lazily: keys SET
 * before the dump are read back with GET after restore over its unix socket and its TCP port.
 * node (libuv's epolls over eventfds and pipes) dumps and goes on. Skipped, saying why, when the
 * program is not installed ('make deps-test' installs both with apt-get).
 */
class DumpServicesIT {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "lazy={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void redisKeepsItsKeysThroughDumpAndRestore(boolean lazy) throws Exception {
        Path redis = Path.of("/usr/bin/redis-server");
        assumeTrue(Files.isExecutable(redis), "redis-server is not installed ('make deps-test' installs it with apt-get, "
                + "which failed or was not run)");
        Path sock = dir.resolve("redis.sock");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        RestoreWorkload w = RestoreWorkload.start(dir, "redis", List.of(redis.toString(), "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--unixsocket", sock.toString(), "--save", "", "--appendonly", "no"));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            awaitSocketFile(sock, w);
            assertEquals("+PONG", Redis.unix(sock).call("PING"), "redis answers before the dump");
            Map<Integer, String> fds = fdTargets(w.pid);
            assertTrue(fds.values().stream().anyMatch(t -> t.contains("eventpoll")), "redis's epoll: " + fds);
            for (int i = 0; i < 50; i++) {
                assertEquals("+OK", Redis.unix(sock).call("SET key" + i + " value-" + i + "-" + lazy));
            }
            assertEquals("+OK", Redis.tcp(port).call("SET overtcp " + port));

            RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                    c.images.toString());
            assertEquals(0, d.exit(), d.toString());
            RestoreProcs.awaitGone(w.pid);
            if (lazy) {
                c.restoreFromLocalDaemon();
            } else {
                c.restore();
            }
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            awaitSocketFile(sock, w);
            for (int i = 0; i < 50; i++) {
                String key = "key" + i;
                assertEquals("$" + ("value-" + i + "-" + lazy).length() + "\r\nvalue-" + i + "-" + lazy,
                        (i % 2 == 0 ? Redis.unix(sock) : Redis.tcp(port)).call("GET " + key), key + " after restore");
            }
            assertEquals("$" + Integer.toString(port).length() + "\r\n" + port, Redis.tcp(port).call("GET overtcp"));
            assertEquals("+OK", Redis.tcp(port).call("SET after restored"), "redis takes writes after restore");
            assertEquals("$8\r\nrestored", Redis.unix(sock).call("GET after"));
            c.killRestoredAndAwaitRestore();
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

    private static void awaitSocketFile(Path sock, RestoreWorkload w) throws Exception {
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000;
        while (!Files.exists(sock)) {
            assertTrue(System.nanoTime() < end, "redis never listened on " + sock + ":\n" + w.text());
            Thread.sleep(20);
        }
    }

    /** One inline redis command on a new connection: the reply without its last CRLF (a bulk string: "$n\r\nvalue"). */
    private record Redis(java.net.SocketAddress at, StandardProtocolFamily family) {
        static Redis unix(Path sock) {
            return new Redis(UnixDomainSocketAddress.of(sock), StandardProtocolFamily.UNIX);
        }

        static Redis tcp(int port) {
            return new Redis(new InetSocketAddress("127.0.0.1", port), StandardProtocolFamily.INET);
        }

        String call(String command) throws IOException {
            try (SocketChannel ch = SocketChannel.open(family)) {
                ch.connect(at);
                ch.write(ByteBuffer.wrap((command + "\r\n").getBytes(StandardCharsets.US_ASCII)));
                ByteBuffer in = ByteBuffer.allocate(256);
                StringBuilder got = new StringBuilder();
                while (!complete(got) && ch.read(in) > 0) {
                    in.flip();
                    got.append(StandardCharsets.US_ASCII.decode(in));
                    in.clear();
                }
                return got.toString().endsWith("\r\n") ? got.substring(0, got.length() - 2) : got.toString();
            }
        }

        private static boolean complete(StringBuilder got) {
            int eol = got.indexOf("\r\n");
            if (eol < 0) {
                return false;
            }
            if (got.charAt(0) != '$' || got.substring(0, eol).equals("$-1")) {
                return true;
            }
            return got.indexOf("\r\n", eol + 2) >= 0;
        }
    }
}
