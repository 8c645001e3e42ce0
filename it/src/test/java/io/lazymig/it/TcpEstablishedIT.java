package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lazymig.images.ImageDir;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * dump and restore --tcp-established on this host's loopback, with it/e2e/e2e-tcp.py's server
 * (every record "c N" checked once and in order, answered "s N") and this test as its client: the
 * records waiting unread in the server's receive queue at the dump are in tcp-stream-INO.img
 * byte for byte (crit decodes it) and reach the restored server over the same connection;
 * --leave-running unlocks the connection and it carries on; after a dump that kills the process
 * the connection vanishes without a FIN or a reset (held in repair mode), while without the flag
 * the client sees the end of file; so it does after a restore killed before its end, which holds
 * the connection in repair mode until then, and a second restore carries it on. The floating-address move between hosts is E2ECasesIT's.
 */
class TcpEstablishedIT {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @TempDir
    Path dir;

    /**
     * The server reads nothing while its hold file exists: 2,000 records wait in its receive queue
     * at the dump. Between the kill and the restore the client sends nothing (every byte of it is
     * acknowledged), so nothing on this host answers it with a reset.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"127.0.0.1", "::1"})
    @Timeout(240)
    void recordsQueuedAtTheDumpReachTheRestoredServerOverTheSameConnection(String address) throws Exception {
        int port = freePort();
        Path hold = Files.createFile(dir.resolve("hold"));
        RestoreWorkload w = server(port, hold, address);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = connect(InetAddress.getByName(address), port)) {
            byte[] queued = records(1, 2000);
            s.getOutputStream().write(queued);
            awaitReceiveQueue(port, queued.length);
            RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                    c.images.toString(), "--tcp-established");
            assertEquals(0, d.exit(), d.toString());
            assertThat(d.stdout(), containsString("1 TCP connection(s) carried alive (--tcp-established)"));
            RestoreProcs.awaitGone(w.pid);
            assertThat(critDecode(c.images.resolve("files.img")), containsString(address.contains(":") ? "\"family\": \"INET6\""
                    : "\"family\": \"INET\""));

            Path img = tcpStreamImage(c.images);
            ImageDir.TcpStreamImage t = ImageDir.of(c.images).readTcpStream(
                    Integer.parseUnsignedInt(img.getFileName().toString().replaceAll("tcp-stream-|\\.img", ""), 16));
            assertArrayEquals(queued, t.inq(), "the receive queue, byte for byte");
            assertEquals(0, t.outq().length, "the server had answered nothing");
            String decoded = critDecode(img);
            assertThat(decoded, containsString("\"magic\": \"TCP_STREAM\""));
            assertThat(decoded, containsString("\"inq_len\": " + queued.length));

            c.restore("--tcp-established");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            assertThat(Files.readString(dir.resolve("restore.log")), containsString("restored alive (" + queued.length
                    + " byte(s) to read"));
            Files.delete(hold);
            s.setSoTimeout(60_000);
            expectAnswers(s.getInputStream(), 1, 2000);
            s.getOutputStream().write(records(2001, 2100));
            expectAnswers(s.getInputStream(), 2001, 2100);
            s.shutdownOutput();
            w.awaitRaw("pid " + w.pid + " end of file after 2100 records");
            assertEquals(0, c.restore.awaitExit(), "restore ends with its process, which exits 0:\n" + c.restore.log());
        }
    }

    /**
     * The server's answers wait in its send queue at the dump, most of them never sent: the client
     * (a 4 KiB receive buffer) reads nothing until after the restore, its window closed. The client
     * sends nothing meanwhile either (all its records are in), so nothing resets the connection.
     */
    @Test
    @Timeout(240)
    void answersInTheSendQueueAtTheDumpAreSentByTheRestoredServer() throws Exception {
        int port = freePort();
        RestoreWorkload w = server(port, null);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new java.net.InetSocketAddress(LOOPBACK, port));
            s.setTcpNoDelay(true);
            s.getOutputStream().write(records(1, 5000));
            int answers = records(1, 5000).length;
            awaitSendQueueAbove(port, answers / 2);
            RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                    c.images.toString(), "--tcp-established");
            assertEquals(0, d.exit(), d.toString());
            RestoreProcs.awaitGone(w.pid);
            Path img = tcpStreamImage(c.images);
            ImageDir.TcpStreamImage t = ImageDir.of(c.images).readTcpStream(
                    Integer.parseUnsignedInt(img.getFileName().toString().replaceAll("tcp-stream-|\\.img", ""), 16));
            assertTrue(t.outq().length > answers / 2, "the answers wait in the send queue: " + t.outq().length);
            assertTrue(t.entry().getUnsqLen() > 0, "some never sent: " + t.entry().getUnsqLen());
            assertEquals(0, t.inq().length, "the server had read every record");
            c.restore("--tcp-established");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            s.setSoTimeout(60_000);
            expectAnswers(s.getInputStream(), 1, 5000);
            s.getOutputStream().write(records(5001, 5100));
            expectAnswers(s.getInputStream(), 5001, 5100);
        }
    }

    /** dump --leave-running --tcp-established: the connection is unlocked and the same process serves on. */
    @Test
    @Timeout(180)
    void leaveRunningUnlocksTheConnection() throws Exception {
        int port = freePort();
        RestoreWorkload w = server(port, null);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = connect(port)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write(records(1, 100));
            expectAnswers(s.getInputStream(), 1, 100);
            RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                    c.images.toString(), "--tcp-established", "--leave-running");
            assertEquals(0, d.exit(), d.toString());
            assertThat(d.stdout(), containsString("1 TCP connection(s) carried alive"));
            s.getOutputStream().write(records(101, 300));
            expectAnswers(s.getInputStream(), 101, 300);
            assertTrue(RestoreProcs.exe(w.pid) != null, "the server runs on");
        }
    }

    /**
     * A dump that fails after the connection was locked (files.img cannot be written: a non-empty
     * directory holds its name) unlocks it before the process runs again: it serves on.
     */
    @Test
    @Timeout(180)
    void aFailedDumpUnlocksTheConnection() throws Exception {
        int port = freePort();
        RestoreWorkload w = server(port, null);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = connect(port)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write(records(1, 100));
            expectAnswers(s.getInputStream(), 1, 100);
            Files.createDirectories(c.images.resolve("files.img").resolve("in-the-way"));
            RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                    c.images.toString(), "--tcp-established");
            assertTrue(d.exit() != 0, "the dump fails: " + d);
            assertThat(d.stderr(), containsString("files.img"));
            s.getOutputStream().write(records(101, 300));
            expectAnswers(s.getInputStream(), 101, 300);
            assertTrue(RestoreProcs.exe(w.pid) != null, "the server runs on");
        }
    }

    /**
     * After a dump that kills the server, its connection is closed in repair mode: the client
     * reads neither an end of file nor a reset. Without --tcp-established the kernel closes it
     * normally and the client reads the end of file.
     */
    @ParameterizedTest(name = "tcpEstablished={0}")
    @ValueSource(booleans = {true, false})
    @Timeout(180)
    void afterTheKillTheConnectionVanishesSilentlyOnlyInRepairMode(boolean tcpEstablished) throws Exception {
        int port = freePort();
        RestoreWorkload w = server(port, null);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = connect(port)) {
            s.setSoTimeout(60_000);
            s.getOutputStream().write(records(1, 10));
            expectAnswers(s.getInputStream(), 1, 10);
            List<String> args = new ArrayList<>(List.of("dump", "-t", Integer.toString(w.pid), "-D", c.images.toString()));
            if (tcpEstablished) {
                args.add("--tcp-established");
            }
            RestoreLauncher.Result d = RestoreLauncher.run(dir, args.toArray(String[]::new));
            assertEquals(0, d.exit(), d.toString());
            RestoreProcs.awaitGone(w.pid);
            if (tcpEstablished) {
                s.setSoTimeout(3_000);
                assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read(),
                        "no FIN and no reset from a socket closed in repair mode");
            } else {
                assertEquals(-1, s.getInputStream().read(), "the end of file from a socket closed normally");
            }
        }
    }

    /**
     * A restore --tcp-established that dies after the connection was opened — held after its last
     * step (LAZYMIG_PAUSE_AFTER=registers), just before the connections are released, and killed
     * there — leaves the connection as the dump did: still in repair mode, it vanishes without a
     * FIN or a reset, and a second restore carries it on, every record once.
     */
    @Test
    @Timeout(240)
    void aRestoreKilledBeforeItsEndLeavesTheConnectionSilentForTheNextRestore() throws Exception {
        int port = freePort();
        RestoreWorkload w = server(port, null);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = connect(port)) {
            talkThenDump(s, w, c.images);
            try (RestoreLauncher.Running first = RestoreLauncher.start(dir.resolve("restore-killed.log"),
                    Map.of("LAZYMIG_PAUSE_AFTER", "registers"), "restore", "-D", c.images.toString(), "-v", "3",
                    "--tcp-established")) {
                String log = first.awaitLog("paused after phase registers");
                assertThat(log, containsString("held in repair mode until the restore succeeds"));
            } // SIGKILL: restore's copy of the socket closes, and the stub with it (PTRACE_O_EXITKILL)
            RestoreProcs.awaitGone(w.pid);
            s.setSoTimeout(3_000);
            assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read(),
                    "no FIN and no reset from the connection of a restore killed before its end");
            c.restore("--tcp-established");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            assertThat(c.restore.log(), containsString("alive, out of repair mode"));
            s.setSoTimeout(60_000);
            s.getOutputStream().write(records(101, 300));
            expectAnswers(s.getInputStream(), 101, 300);
        }
    }

    /**
     * A lazy restore --tcp-established that fails after the connection was released (out of repair
     * mode, held there after the phase "connections released" while its lazy-pages daemon is killed:
     * restore cannot tell it the restore finished) puts the connection back in repair mode before it
     * kills the process: the client reads neither an end of file nor a reset, and a second restore
     * carries the connection on.
     */
    @Test
    @Timeout(240)
    void aRestoreThatFailsAfterTheReleaseKillsWithTheConnectionBackInRepairMode() throws Exception {
        int port = freePort();
        RestoreWorkload w = server(port, null);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = connect(port)) {
            talkThenDump(s, w, c.images);
            Path sock = dir.resolve("lazy.sock");
            Path go = dir.resolve("go");
            try (RestoreLauncher.Running daemon = RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock, c.images);
                 RestoreLauncher.Running first = RestoreLauncher.start(dir.resolve("restore-failed.log"),
                         Map.of("LAZYMIG_PAUSE_AFTER", "connections released", "LAZYMIG_PAUSE_UNTIL", go.toString()),
                         "restore", "-D", c.images.toString(), "-v", "3", "--tcp-established", "--lazy-pages",
                         "--address", sock.toString())) {
                assertThat(first.awaitLog("paused after phase connections released"), containsString(
                        "alive, out of repair mode"));
                daemon.close();
                Files.createFile(go);
                assertTrue(first.awaitExit() != 0, "restore fails without its daemon:\n" + first.log());
                RestoreProcs.awaitGone(w.pid);
                s.setSoTimeout(3_000);
                assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read(),
                        "no FIN and no reset from the connection of a restore that failed after releasing it");
                assertThat(first.log(), containsString("in repair mode for the kill"));
            }
            c.restore("--tcp-established");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            s.setSoTimeout(60_000);
            s.getOutputStream().write(records(101, 300));
            expectAnswers(s.getInputStream(), 101, 300);
        }
    }

    /**
     * The guard's kill: a lazy restore --tcp-established runs, its daemon (serving faults only) is
     * killed and none comes back within --lazy-deadline, so the guard kills the process; it first
     * puts the connection, live by then, back in repair mode: the client reads neither an end of
     * file nor a reset, and a second restore carries the connection on.
     */
    @Test
    @Timeout(240)
    void theGuardsKillLeavesTheConnectionSilentForTheNextRestore() throws Exception {
        int port = freePort();
        RestoreWorkload w = server(port, null);
        try (RestoreCycle c = new RestoreCycle(dir, w); Socket s = connect(port)) {
            talkThenDump(s, w, c.images);
            Path sock = dir.resolve("lazy.sock");
            try (RestoreLauncher.Running daemon = RestoreLauncher.lazyPages(dir.resolve("lazy-pages.log"), sock, c.images,
                    "--lazy-idle-timeout", "60");
                 RestoreLauncher.Running first = RestoreLauncher.start(dir.resolve("restore-guarded.log"), "restore", "-D",
                         c.images.toString(), "-v", "3", "--tcp-established", "--lazy-pages", "--address", sock.toString(),
                         "--lazy-deadline", "3")) {
                first.awaitLog("alive, out of repair mode");
                first.awaitLog("restore: process " + w.pid + " running after");
                daemon.close();
                assertTrue(first.awaitExit() != 0, "the guard kills the process:\n" + first.log());
                assertThat(first.log(), containsString("killed rather than left on missing pages"));
                RestoreProcs.awaitGone(w.pid);
                s.setSoTimeout(3_000);
                assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read(),
                        "no FIN and no reset from the connection of a process the guard killed");
                assertThat(first.log(), containsString("1 connection(s) back in repair mode before the kill"));
            }
            c.restore("--tcp-established");
            c.restore.awaitLog("restore: process " + w.pid + " running after");
            s.setSoTimeout(60_000);
            s.getOutputStream().write(records(101, 300));
            expectAnswers(s.getInputStream(), 101, 300);
        }
    }

    /** 100 records answered over {@code s}, then the server dumped --tcp-established into {@code images}, and gone. */
    private void talkThenDump(Socket s, RestoreWorkload w, Path images) throws Exception {
        s.setSoTimeout(60_000);
        s.getOutputStream().write(records(1, 100));
        expectAnswers(s.getInputStream(), 1, 100);
        RestoreLauncher.Result d = RestoreLauncher.run(dir, "dump", "-t", Integer.toString(w.pid), "-D",
                images.toString(), "--tcp-established");
        assertEquals(0, d.exit(), d.toString());
        RestoreProcs.awaitGone(w.pid);
    }

    private RestoreWorkload server(int port, Path hold) throws IOException, InterruptedException {
        return server(port, hold, "127.0.0.1");
    }

    private RestoreWorkload server(int port, Path hold, String bind) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3",
                RestoreWorkload.root().resolve("it/e2e/e2e-tcp.py").toString(), "server", Integer.toString(port),
                hold == null ? "-" : hold.toString(), bind));
        RestoreWorkload w = RestoreWorkload.start(dir, "tcp-server", cmd);
        w.awaitRaw("pid " + w.pid + " listening on " + port);
        return w;
    }

    private static Socket connect(int port) throws IOException {
        return connect(LOOPBACK, port);
    }

    private static Socket connect(InetAddress to, int port) throws IOException {
        Socket s = new Socket(to, port);
        s.setTcpNoDelay(true);
        return s;
    }

    private static byte[] records(int from, int to) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i <= to; i++) {
            b.append("c ").append(i).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads the answers "s FROM" .. "s TO", each once and in order, and nothing else. */
    private static void expectAnswers(InputStream in, int from, int to) throws IOException {
        byte[] want = records(from, to);
        for (int i = 0; i < want.length; i++) {
            if (want[i] == 'c') {
                want[i] = 's';
            }
        }
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        while (got.size() < want.length) {
            int n = in.read(buf, 0, Math.min(buf.length, want.length - got.size()));
            if (n < 0) {
                fail("end of file after " + got.size() + " of " + want.length + " bytes of answers");
            }
            got.write(buf, 0, n);
        }
        assertEquals(new String(want, StandardCharsets.US_ASCII), got.toString(StandardCharsets.US_ASCII));
    }

    /** Waits until the server's connection (local port {@code port}) holds {@code bytes} unread. */
    private static void awaitReceiveQueue(int port, int bytes) throws IOException, InterruptedException {
        String last = "";
        for (int i = 0; i < 600; i++) {
            ChildGroup.Finished f = ChildGroup.run(30, List.of("ss", "-tnH", "state", "established", "( sport = :" + port
                    + " )"));
            last = f.output().trim();
            String[] cols = last.split("\\s+");
            if (cols.length > 1 && cols[0].equals(Integer.toString(bytes))) {
                return;
            }
            Thread.sleep(50);
        }
        fail("the server's receive queue never held " + bytes + " bytes: " + last);
    }

    /** Waits until the server's connection (local port {@code port}) holds more than {@code bytes} to send. */
    private static void awaitSendQueueAbove(int port, int bytes) throws IOException, InterruptedException {
        String last = "";
        for (int i = 0; i < 600; i++) {
            ChildGroup.Finished f = ChildGroup.run(30, List.of("ss", "-tnH", "state", "established", "( sport = :" + port
                    + " )"));
            last = f.output().trim();
            String[] cols = last.split("\\s+");
            if (cols.length > 1 && Integer.parseInt(cols[1]) > bytes && cols[0].equals("0")) {
                return;
            }
            Thread.sleep(50);
        }
        fail("the server's send queue never held more than " + bytes + " bytes: " + last);
    }

    private static Path tcpStreamImage(Path images) throws IOException {
        try (Stream<Path> s = Files.list(images)) {
            List<Path> found = s.filter(p -> p.getFileName().toString().startsWith("tcp-stream-")).toList();
            assertEquals(1, found.size(), "one tcp-stream image: " + found);
            return found.get(0);
        }
    }

    private static String critDecode(Path img) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(Crit.system());
        cmd.addAll(List.of("decode", "--pretty", "-i", img.toString()));
        ChildGroup.Finished f = ChildGroup.run(120, cmd);
        assertTrue(!f.timedOut() && f.exit() == 0, "crit decode " + img + ":\n" + f.output());
        return f.output();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
