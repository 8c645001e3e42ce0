package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.ImageDir;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Servers through dump and restore on this host, eager and lazy: their listening TCP sockets (IPv4
 * and IPv6, with their options and backlogs) and bound UDP sockets come back on the same ports and
 * serve; an established TCP connection comes back closed (the application's next read fails) and
 * the dump's summary counts it; --ip-map moves a bound address, and an address this host lacks is
 * an error naming the socket; unix socketpairs keep their queued data and unix listeners serve
 * again; a unix peer outside the process is refused; netlink sockets are bound again to their
 * groups; a corrupt socket entry is one clear error.
 */
class SocketsIT {
    @TempDir
    Path dir;

    /** python3 -m http.server serves a file byte for byte after restore. */
    @ParameterizedTest(name = "lazy={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void pythonHttpServerServesAfterRestore(boolean lazy) throws Exception {
        byte[] blob = new byte[300_000];
        new Random(14).nextBytes(blob);
        Files.write(dir.resolve("blob.bin"), blob);
        int port = freePort();
        RestoreWorkload w = RestoreWorkload.start(dir, "http", List.of("/usr/bin/python3", "-m", "http.server",
                Integer.toString(port), "--bind", "127.0.0.1"));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            awaitListening("127.0.0.1", port);
            assertArrayEquals(blob, get("127.0.0.1", port, "/blob.bin"), "served before the dump");
            RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D", c.images.toString());
            assertEquals(0, d.exit(), d.toString());
            RestoreProcs.awaitGone(w.pid);
            if (lazy) {
                c.restoreFromLocalDaemon();
            } else {
                c.restore();
            }
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            awaitListening("127.0.0.1", port);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(blob, get("127.0.0.1", port, "/blob.bin"), "served after restore, request " + i);
            }
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * restore-sockets: both listeners serve on their ports with their options, both UDP sockets
     * echo, the process's own connection reads ENOTCONN after restore where it was open before,
     * and the dump says it closed 2 connections (the client end and the accepted end).
     */
    @ParameterizedTest(name = "lazy={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void listenersUdpAndAClosedConnection(boolean lazy) throws Exception {
        int base = freePorts(4);
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-sockets", Integer.toString(base), "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            RestoreWorkload.Line first = w.awaitLine("counter 1", l -> l.counter() >= 1);
            assertEquals("open", first.get("conn"), first.raw());
            assertThat(greeting("127.0.0.1", base), containsString("hello " + base));
            RestoreLauncher.Result d = c.dump(3, false);
            assertThat(d.stdout(), containsString("2 TCP connection(s) closed"));
            if (!lazy) {
                String files = crit("files.img", c.images);
                assertThat(files, containsString("\"type\": \"INETSK\""));
                assertThat(files, containsString("\"src_port\": " + (base + 1)));
                assertThat(files, containsString("\"v6only\": true"));
                assertThat(files, containsString("\"state\": \"ESTABLISHED\""));
            }
            if (lazy) {
                c.restoreFromLocalDaemon();
            } else {
                c.restore();
            }
            RestoreWorkload.Line after = c.awaitRestoredLine();
            assertEquals("ENOTCONN", after.get("conn"), "the connection is restored closed: " + after.raw());
            assertThat("IPV6_TRANSPARENT set, IP_TRANSPARENT not: " + first.raw(), first.get("opts6"), endsWith("1"));
            assertThat(first.raw(), first.get("opts4"), endsWith("0"));
            assertEquals(first.get("opts4"), after.get("opts4"),
                    "IPv4 listener's options (reuseaddr nodelay keepalive rcvbuf transparent)");
            assertEquals(first.get("opts6"), after.get("opts6"), "IPv6 listener's options (v6only reuseaddr reuseport transparent)");
            assertThat(greeting("127.0.0.1", base), containsString("hello " + base));
            assertThat(greeting("::1", base + 1), containsString("hello " + (base + 1)));
            assertEquals("echo v4", echo("127.0.0.1", base + 2, "v4"));
            assertEquals("echo v6", echo("::1", base + 3, "v6"));
            String ss = ss(w.pid);
            assertThat("backlog 7 of the IPv4 listener: " + ss, ss, containsString("LISTEN 0      7"));
            assertThat("backlog 9 of the IPv6 listener: " + ss, ss, containsString("LISTEN 0      9"));
            c.assertOneContinuousRun(w.pid);
            c.killRestoredAndAwaitRestore();
        }
    }

    /** --ip-map moves a listener to another address; a mapped address this host lacks is an error naming the socket. */
    @Test
    @Timeout(180)
    void ipMap() throws Exception {
        int port = freePort();
        RestoreWorkload w = RestoreWorkload.start(dir, "http", List.of("/usr/bin/python3", "-m", "http.server",
                Integer.toString(port), "--bind", "127.0.0.1"));
        Files.writeString(dir.resolve("hello.txt"), "moved\n");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            awaitListening("127.0.0.1", port);
            RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D", c.images.toString());
            assertEquals(0, d.exit(), d.toString());
            RestoreProcs.awaitGone(w.pid);

            RestoreLauncher.Result bad = RestoreLauncher.run(dir, "restore", "-D", c.images.toString(), "--ip-map",
                    "127.0.0.1=192.0.2.1");
            assertEquals(1, bad.exit(), bad.toString());
            assertThat(bad.stderr(), containsString("cannot bind fd 3 (tcp listening on 127.0.0.1:" + port
                    + "): this host has no address 192.0.2.1 (mapped by --ip-map)"));
            assertEquals(1, bad.stderr().strip().lines().count(), "one line: " + bad.stderr());

            c.restore("--ip-map", "127.0.0.1=127.0.0.3");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            awaitListening("127.0.0.3", port);
            assertEquals("moved\n", new String(get("127.0.0.3", port, "/hello.txt"), StandardCharsets.UTF_8));
            c.killRestoredAndAwaitRestore();
        }
    }

    /** A socket entry with an impossible family is one clear error naming the image and the fd, and nothing is restored. */
    @Test
    @Timeout(120)
    void corruptSocketEntry() throws Exception {
        int base = freePorts(4);
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-sockets", Integer.toString(base), "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(2, false);
            ImageDir images = ImageDir.of(c.images);
            List<file_entry> files = new ArrayList<>();
            for (file_entry f : images.readFiles()) {
                if (f.getType() == fd_types.INETSK && f.getIsk().getSrcPort() == base) {
                    f = f.toBuilder().setIsk(f.getIsk().toBuilder().setFamily(99)).build();
                }
                files.add(f);
            }
            images.writeFiles(files);
            RestoreLauncher.Result r = RestoreLauncher.run(dir, "restore", "-D", c.images.toString());
            assertEquals(1, r.exit(), r.toString());
            assertThat(r.stderr(), containsString("fd 3"));
            assertThat(r.stderr(), containsString("family 99 is neither AF_INET nor AF_INET6"));
            assertEquals(1, r.stderr().strip().lines().count(), "one line: " + r.stderr());
            RestoreProcs.awaitGone(w.pid); // nothing left running under its pid
        }
    }

    /**
     * restore-unix: a stream, a datagram and a seqpacket socketpair with data queued on their ends
     * get every byte back once, in order; a listener on a path (its file recreated with mode 0660)
     * and one on an abstract name serve again.
     */
    @ParameterizedTest(name = "lazy={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void unixSocketsWithDataInFlight(boolean lazy) throws Exception {
        Path sock = dir.resolve("u.sock");
        String abstractName = "lazymig-it-" + ProcessHandle.current().pid() + "-" + lazy;
        RestoreWorkload w = RestoreWorkload.c(dir, "restore-unix", sock.toString(), abstractName, "100");
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 1", l -> l.counter() >= 1);
            assertEquals("unix hello " + sock + "\n", unixGreeting(UnixDomainSocketAddress.of(sock)));
            c.dump(3, false);
            assertTrue(Files.exists(c.images.resolve("sk-queues.img")), "the queued data is in sk-queues.img");
            if (!lazy) { // crit decodes the socket images (Debian's crit, as DumpImagesIT uses)
                String files = crit("files.img", c.images);
                assertThat(files, containsString("\"type\": \"UNIXSK\""));
                assertThat(files, containsString("\"type\": \"SEQPACKET\""));
                assertThat(files, containsString("\"state\": \"LISTEN\""));
                String queues = crit("sk-queues.img", c.images);
                assertEquals(9, queues.split("\"id_for\"", -1).length - 1, "9 queued packets:\n" + queues);
            }
            if (lazy) {
                c.restoreFromLocalDaemon();
            } else {
                c.restore();
            }
            c.awaitRestoredLine();
            Files.writeString(dir.resolve("drain"), "");
            String drained = awaitRaw(w, "drained ");
            assertEquals("drained a=pong-from-b b=ping-from-a y=d1,d2,d3 q=s1,s2 z=u1,u2", drained, "every queue, once, in order");
            assertEquals("unix hello " + sock + "\n", unixGreeting(UnixDomainSocketAddress.of(sock)));
            assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
            assertThat(abstractGreeting(abstractName), containsString("unix hello " + abstractName));
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * A zero-length datagram queued between two others on a datagram socketpair is a datagram like
     * them: after restore the process receives all three, "a", "" and "b", in order.
     */
    @Test
    @Timeout(180)
    void aZeroLengthDatagramKeepsItsPlaceInTheQueue() throws Exception {
        String script = String.join("\n",
                "import socket, os, time",
                "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "for d in (b'a', b'', b'b'): a.send(d)",
                "n = 0",
                "while not os.path.exists('drain'):",
                "    print(f'pid {os.getpid()} counter {n} sum 0', flush=True); n += 1; time.sleep(0.05)",
                "got = []",
                "b.setblocking(False)",
                "try:",
                "    while True: got.append(repr(b.recv(100)))",
                "except BlockingIOError: pass",
                "print('drained ' + ','.join(got), flush=True)",
                "time.sleep(600)",
                "");
        RestoreWorkload w = RestoreWorkload.start(dir, "zero-dgram", List.of("/usr/bin/python3", "-c", script));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(3, false);
            c.restore();
            c.awaitRestoredLine();
            Files.writeString(dir.resolve("drain"), "");
            assertEquals("drained b'a',b'',b'b'", awaitRaw(w, "drained "), "three datagrams, in order");
            c.killRestoredAndAwaitRestore();
        }
    }

    /**
     * Queues bigger than the sending socket's buffer: 1 MiB in a stream socketpair and 200
     * datagrams of 4 KiB after one of 64 KiB in a datagram one, each queued under a 4 MiB SO_SNDBUF
     * the program then lowered to 4 KiB (the 64 KiB datagram alone is longer than that). Restore sends each queue whole (raising the buffer while it does) and puts
     * the buffer back: the process reads every byte and every datagram, and SO_SNDBUF is as before.
     */
    @Test
    @Timeout(180)
    void queuesBiggerThanTheSendersBufferComeBackWhole() throws Exception {
        String script = String.join("\n",
                "import socket, os, time",
                "SO_SNDBUFFORCE = 32",
                "data = bytes((i * 7 + 3) % 251 for i in range(1 << 20))",
                "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)",
                "c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "for s in (a, c): s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20)",
                "a.sendall(data)",
                "grams = [b'z' * 65536] + [bytes([i % 256]) * 4096 for i in range(200)]",
                "for g in grams: c.send(g)",
                "for s in (a, c): s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)",
                "was = [s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) for s in (a, c)]",
                "n = 0",
                "while not os.path.exists('drain'):",
                "    print(f'pid {os.getpid()} counter {n} sum 0', flush=True); n += 1; time.sleep(0.05)",
                "b.setblocking(False); d.setblocking(False)",
                "got = b''",
                "try:",
                "    while True: got += b.recv(1 << 16)",
                "except BlockingIOError: pass",
                "rcvd = []",
                "try:",
                "    while True: rcvd.append(d.recv(1 << 17))",
                "except BlockingIOError: pass",
                "now = [s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) for s in (a, c)]",
                "print(f'drained stream {len(got)} {got == data} datagrams {len(rcvd)} {rcvd == grams} sndbuf {now == was}',"
                        + " flush=True)",
                "time.sleep(600)",
                "");
        RestoreWorkload w = RestoreWorkload.start(dir, "big-queues", List.of("/usr/bin/python3", "-c", script));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            c.dump(3, false);
            c.restore();
            c.awaitRestoredLine();
            Files.writeString(dir.resolve("drain"), "");
            assertEquals("drained stream 1048576 True datagrams 201 True sndbuf True", awaitRaw(w, "drained "));
            c.killRestoredAndAwaitRestore();
        }
    }

    /** A unix socket connected to a peer outside the process is refused, naming the process, the fd and why; it runs on. */
    @Test
    @Timeout(120)
    void unixPeerOutsideTheProcessIsRefused() throws Exception {
        Path sock = dir.resolve("outside.sock");
        try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            String script = "import socket, time, os\n"
                    + "s = socket.socket(socket.AF_UNIX); s.connect('" + sock + "')\n"
                    + "n = 0\n"
                    + "while True:\n"
                    + "    print(f'pid {os.getpid()} counter {n} sum 0', flush=True); n += 1; time.sleep(0.05)\n";
            RestoreWorkload w = RestoreWorkload.start(dir, "peer", List.of("/usr/bin/python3", "-c", script));
            try (RestoreCycle c = new RestoreCycle(dir, w); java.nio.channels.SocketChannel accepted = server.accept()) {
                w.awaitLine("counter 1", l -> l.counter() >= 1);
                RestoreLauncher.Result r = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                        c.images.toString());
                assertEquals(1, r.exit(), r.toString());
                assertThat(r.stderr(), org.hamcrest.Matchers.matchesPattern("lazymig dump: process " + w.pid
                        + " fd 3 is a unix socket connected to socket:\\[\\d+\\], which no process of the dump holds: its peer "
                        + "cannot move with it \\(not supported\\)\n"));
                long last = w.lastCounter();
                w.awaitLine("counter " + (last + 2) + " after the refusal", l -> l.counter() >= last + 2);
            }
        }
    }

    /**
     * A datagram socket connected to a named socket outside the process (a syslog-like server's, as
     * /dev/log is) is connected to that name again: what it sends after restore reaches the server.
     */
    @Test
    @Timeout(180)
    void datagramToAnOutsideLogSocketReconnects() throws Exception {
        Path log = dir.resolve("log.sock");
        Path received = dir.resolve("received.txt");
        String server = String.join("\n",
                "import socket, os, sys",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])",
                "print(f'pid {os.getpid()} counter 0 sum 0', flush=True)",
                "while True:",
                "    with open(sys.argv[2], 'a') as f: f.write(s.recv(200).decode() + '\\n')",
                "");
        String client = String.join("\n",
                "import socket, os, sys, time",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(sys.argv[1]); s.send(b'before')",
                "n = 0; sent = False",
                "while True:",
                "    print(f'pid {os.getpid()} counter {n} sum 0', flush=True); n += 1; time.sleep(0.05)",
                "    if not sent and os.path.exists('send'): s.send(b'after'); sent = True",
                "");
        try (RestoreWorkload logServer = RestoreWorkload.start(dir, "logd", List.of("/usr/bin/python3", "-c", server,
                log.toString(), received.toString()))) {
            logServer.awaitLine("counter 0", l -> true);
            RestoreWorkload w = RestoreWorkload.start(dir, "logger", List.of("/usr/bin/python3", "-c", client, log.toString()));
            try (RestoreCycle c = new RestoreCycle(dir, w)) {
                c.dump(3, false);
                c.restore();
                c.awaitRestoredLine();
                Files.writeString(dir.resolve("send"), "");
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
                while (System.nanoTime() < end && !(Files.exists(received) && Files.readString(received).contains("after"))) {
                    Thread.sleep(20);
                }
                assertEquals("before\nafter\n", Files.readString(received), "the server got both datagrams");
                c.killRestoredAndAwaitRestore();
            }
        }
    }

    /**
     * A python process's netlink sockets (route, bound to RTMGRP_LINK; uevent, group 1) come back
     * with their protocols and groups, and the route socket answers an RTM_GETLINK dump after restore.
     */
    @Test
    @Timeout(180)
    void netlinkRouteAndUevent() throws Exception {
        String script = String.join("\n",
                "import socket, struct, time, os",
                "r = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE); r.bind((0, 1))",
                "u = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15); u.bind((0, 1))",
                "n = 0; asked = False",
                "while True:",
                "    print(f'pid {os.getpid()} counter {n} sum 0', flush=True); n += 1; time.sleep(0.05)",
                "    if not asked and os.path.exists('ask'):",
                "        asked = True",
                "        r.send(struct.pack('=LHHLLBxxx', 20, 18, 0x301, 1, 0, 0))",  // RTM_GETLINK, NLM_F_REQUEST|DUMP
                "        links = 0; done = False",
                "        while not done:",
                "            data = r.recv(65536); off = 0",
                "            while off < len(data):",
                "                ln, ty = struct.unpack_from('=LH', data, off)",
                "                if ty == 3: done = True; break",
                "                if ty == 16: links += 1",
                "                off += (ln + 3) & ~3",
                "        print(f'links {links}', flush=True)",
                "");
        RestoreWorkload w = RestoreWorkload.start(dir, "netlink", List.of("/usr/bin/python3", "-c", script));
        try (RestoreCycle c = new RestoreCycle(dir, w)) {
            w.awaitLine("counter 1", l -> l.counter() >= 1);
            String before = netlinkOf(w.pid);
            c.dump(3, false);
            c.restore();
            c.awaitRestoredLine();
            assertEquals(before, netlinkOf(w.pid), "protocols and groups of the process's netlink sockets");
            Files.writeString(dir.resolve("ask"), "");
            String links = awaitRaw(w, "links ");
            assertTrue(Integer.parseInt(links.substring(6)) >= 1, "the route socket answers: " + links);
            c.killRestoredAndAwaitRestore();
        }
    }

    // ---- helpers

    private static String crit(String image, Path dir) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(Crit.system());
        cmd.addAll(List.of("show", dir.resolve(image).toString()));
        ChildGroup.Finished f = ChildGroup.run(120, cmd);
        assertTrue(!f.timedOut() && f.exit() == 0, "crit show " + image + ":\n" + f.output());
        return f.output();
    }

    /** "protocol groups" of each netlink socket process {@code pid} has, from /proc/net/netlink, sorted. */
    private static String netlinkOf(int pid) throws IOException {
        java.util.Set<String> inodes = new java.util.HashSet<>();
        try (var s = Files.list(Path.of("/proc", Integer.toString(pid), "fd"))) {
            for (Path p : s.toList()) {
                String t = Files.readSymbolicLink(p).toString();
                if (t.startsWith("socket:[")) {
                    inodes.add(t.substring(8, t.length() - 1));
                }
            }
        }
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of("/proc/net/netlink")).subList(1, Files.readAllLines(Path.of("/proc/net/netlink")).size())) {
            String[] f = l.trim().split("\\s+");
            if (inodes.contains(f[f.length - 1])) {
                out.add(f[1] + " " + f[3]);
            }
        }
        java.util.Collections.sort(out);
        assertEquals(2, out.size(), "two netlink sockets: " + out);
        return out.toString();
    }

    private static String awaitRaw(RestoreWorkload w, String prefix) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        while (System.nanoTime() < end) {
            for (String l : w.rawLines()) {
                if (l.startsWith(prefix)) {
                    return l;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no line starting '" + prefix + "':\n" + w.text());
    }

    private static String unixGreeting(UnixDomainSocketAddress a) throws IOException {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(a)) {
            return new String(readAll(ch), StandardCharsets.UTF_8);
        }
    }

    private static byte[] readAll(java.nio.channels.SocketChannel ch) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(256);
        while (ch.read(b.clear()) > 0) {
            out.write(b.array(), 0, b.position());
        }
        return out.toByteArray();
    }

    /** Java cannot name an abstract socket: python connects to it. */
    private static String abstractGreeting(String name) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import socket,sys\n"
                + "s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect('\\0' + sys.argv[1])\n"
                + "print(s.recv(200).decode(), end='')", name).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "python did not exit");
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A base port with the next {@code n - 1} ports free too (TCP and UDP, v4 and v6), for restore-sockets. */
    private static int freePorts(int n) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = 20000 + new Random().nextInt(30000);
            boolean free = true;
            for (int p = base; p < base + n && free; p++) {
                try (ServerSocket s = new ServerSocket(); DatagramSocket u = new DatagramSocket(null)) {
                    s.bind(new InetSocketAddress("::", p));
                    u.bind(new InetSocketAddress("::", p));
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new AssertionError("no " + n + " consecutive free ports");
    }

    /** Waits (bounded) until something accepts connections at addr:port. */
    private static void awaitListening(String addr, int port) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        while (System.nanoTime() < end) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(addr, port), 1000);
                return;
            } catch (IOException e) {
                Thread.sleep(20);
            }
        }
        throw new AssertionError("nothing listens at " + addr + ":" + port);
    }

    private static byte[] get(String addr, int port, String path) throws IOException {
        URI uri = URI.create("http://" + addr + ":" + port + path);
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) uri.toURL().openConnection();
        c.setConnectTimeout(10_000);
        c.setReadTimeout(30_000);
        try (InputStream in = c.getInputStream()) {
            assertEquals(200, c.getResponseCode());
            return in.readAllBytes();
        } finally {
            c.disconnect();
        }
    }

    private static String greeting(String addr, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(new InetSocketAddress(addr, port), 10_000);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String echo(String addr, int port, String text) throws IOException {
        try (DatagramSocket u = new DatagramSocket()) {
            u.setSoTimeout(2_000);
            byte[] out = text.getBytes(StandardCharsets.UTF_8);
            byte[] in = new byte[512];
            for (int i = 0; i < 10; i++) {
                u.send(new DatagramPacket(out, out.length, InetAddress.getByName(addr), port));
                DatagramPacket p = new DatagramPacket(in, in.length);
                try {
                    u.receive(p);
                    return new String(in, 0, p.getLength(), StandardCharsets.UTF_8);
                } catch (SocketTimeoutException e) {
                    // a datagram may be dropped: send again
                }
            }
            throw new AssertionError("no echo from " + addr + ":" + port);
        }
    }

    /** ss's listening TCP sockets of process {@code pid}. */
    private static String ss(int pid) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ss", "-ltnp").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "ss did not exit");
        StringBuilder b = new StringBuilder();
        for (String l : out.split("\n")) {
            if (l.contains("pid=" + pid + ",")) {
                b.append(l).append('\n');
            }
        }
        assertNotEquals("", b.toString(), "no listening socket of " + pid + " in:\n" + out);
        return b.toString();
    }
}
