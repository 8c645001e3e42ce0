package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults on a connection of their own (the daemon's fault channel), over a link with a round trip
 * (delay-proxy between the daemon and the lazy server): checksum-loop walks all its memory as soon
 * as it runs on A, right behind the background's window in flight, so it touches pages a
 * background chunk already covers. Those must be asked for again at once as faults, every wait of
 * a thread counted once, the pages byte-exact; and a fault channel lost mid-migration must fall
 * back to the first connection and come back without losing a fetch.
 */
class FaultConnectionIT {
    private static final Pattern SERVING = Pattern.compile("serving process \\d+ .* on \\S*:(\\d+)");
    private static final Pattern FAULT_CHANNEL = Pattern.compile("client /127\\.0\\.0\\.1:(\\d+) connected \\(a fault channel\\)");
    /**
     * A round trip and a size that keep the background busy for far longer than the restored
     * process takes to start walking (at least SIZE / 32 chunks in flight x RTT = 640 ms, plus the
     * copies): with 64 MiB and 20 ms a loaded machine started the walk after every page was in.
     */
    private static final String RTT_US = "40000";
    private static final String SIZE_MIB = "512";

    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void pagesTouchedInsideTheBackgroundInFlightAreFaultsCountedOnceAndByteExact() throws Exception {
        try (Migration m = new Migration(dir)) {
            m.startDaemon();
            m.server.awaitLog("(a fault channel)");
            m.restoreAndCheck();
            String stats = Files.readString(m.stats);
            assertThat("faults on pages of a background chunk in flight:\n" + stats, number(stats, "faults_on_background"),
                    greaterThan(0L));
            assertEquals(number(stats, "fault_messages"), number(stats, "faults"),
                    "every wait of a thread (one per fault message) counted once:\n" + stats);
            assertThat(m.daemon.log(), not(containsString("fault connection to the lazy server lost")));
        }
    }

    @Test
    @Timeout(180)
    void aLostFaultChannelFallsBackAndComesBackWithoutLosingAPage() throws Exception {
        try (Migration m = new Migration(dir)) {
            m.startDaemon();
            // Lost before restore: the daemon reconnects it.
            killConnection(m.awaitFaultChannel(1));
            int second = m.awaitFaultChannel(2);
            // Lost again while the process runs on A and faults: faults in flight are asked again
            // on the first connection meanwhile; then it comes back once more.
            m.restoreStarted();
            m.cycle.restore.awaitLog("running after");
            killConnection(second);
            m.finishAndCheck();
            assertThat(m.daemon.log(), containsString("fault connection to the lazy server lost"));
            String stats = Files.readString(m.stats);
            assertEquals(number(stats, "fault_messages"), number(stats, "faults"),
                    "every wait of a thread counted once:\n" + stats);
        }
    }

    /** Destroys both ends of the server's connection with client port {@code port} (ss -K: the kernel aborts them). */
    private static void killConnection(int port) throws Exception {
        ChildGroup.Finished f = ChildGroup.run(30, List.of("ss", "-K", "-t", "-n", "( sport = :" + port + " or dport = :" + port + " )"));
        assertEquals(0, f.exit(), "ss -K: " + f.output());
        assertThat("ss -K destroyed no socket of port " + port + ": " + f.output(), f.output(), containsString(":" + port));
    }

    private static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\": (\\d+)").matcher(json);
        assertTrue(m.find(), "no " + key + " in " + json);
        return Long.parseLong(m.group(1));
    }

    /** checksum-loop dumped; lazy server, delay-proxy, daemon (with stats) and restore around it. */
    private static final class Migration implements AutoCloseable {
        final RestoreCycle cycle;
        final RestoreWorkload workload;
        final RestoreLauncher.Running server;
        final Path stats;
        final Path sock;
        final int proxyPort;
        final List<AutoCloseable> extras = new ArrayList<>();
        RestoreLauncher.Running daemon;

        Migration(Path dir) throws Exception {
            workload = RestoreWorkload.c(dir, "checksum-loop", SIZE_MIB, "20");
            cycle = new RestoreCycle(dir, workload);
            cycle.dump(3, false);
            server = cycle.closeLater(RestoreLauncher.start(dir.resolve("lazy-server.log"), "lazy-pages", "--lazy-server",
                    "-D", cycle.images.toString(), "--address", "127.0.0.1", "--port", "0", "--no-auth", "-v", "3"));
            Matcher s = SERVING.matcher(server.awaitLog("serving process"));
            assertTrue(s.find(), "no port in the lazy server's log:\n" + server.log());
            proxyPort = freePort();
            ChildGroup proxy = ChildGroup.start(new ProcessBuilder(probe("delay-proxy"), "127.0.0.1",
                    Integer.toString(proxyPort), "127.0.0.1", s.group(1), RTT_US).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("delay-proxy.log").toFile()));
            extras.add(proxy);
            awaitListening(proxyPort);
            stats = dir.resolve("stats.json");
            sock = dir.resolve("lazy.sock");
        }

        void startDaemon() throws Exception {
            daemon = cycle.closeLater(RestoreLauncher.lazyPages(cycle.dir.resolve("lazy-pages.log"), sock, cycle.images,
                    "--lazy-client", "127.0.0.1", "--port", Integer.toString(proxyPort), "--no-auth",
                    "--stats-file", stats.toString()));
        }

        /** The client port of the n-th fault channel the server let in. */
        int awaitFaultChannel(int n) throws Exception {
            long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
            while (System.nanoTime() < end) {
                Matcher m = FAULT_CHANNEL.matcher(server.log());
                for (int i = 1; m.find(); i++) {
                    if (i == n) {
                        return Integer.parseInt(m.group(1));
                    }
                }
                Thread.sleep(10);
            }
            throw new AssertionError("no fault channel #" + n + " in the server's log:\n" + server.log() + "\ndaemon:\n" + daemon.log());
        }

        void restoreStarted() throws IOException {
            cycle.restore("--lazy-pages", "--address", sock.toString());
        }

        void restoreAndCheck() throws Exception {
            restoreStarted();
            finishAndCheck();
        }

        /** The daemon brings every page in and exits 0; the process's checksums never change. */
        void finishAndCheck() throws Exception {
            cycle.restore.awaitLog("running after");
            cycle.awaitRestoredLine();
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertThat(daemon.log(), containsString("every page is in"));
            assertThat(daemon.log(), not(containsString("Exception")));
            cycle.restore.awaitLog("process " + workload.pid + " has all its pages");
            long n = workload.lastCounter();
            workload.awaitLine("a checksum after the transfer", l -> l.counter() > n);
            cycle.assertOneContinuousRun(workload.pid);
            cycle.killRestoredAndAwaitRestore();
        }

        @Override
        public void close() throws Exception {
            cycle.close();
            for (AutoCloseable c : extras) {
                c.close();
            }
        }
    }

    private static String probe(String name) {
        String d = System.getProperty("lazymig.probes");
        if (d == null) {
            throw new IllegalStateException("system property lazymig.probes is not set (run through maven)");
        }
        Path p = Path.of(d, name);
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException(p + " is not built (make -C it/bench)");
        }
        return p.toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Waits until a TCP socket listens on {@code port} (/proc/net/tcp, state 0A). */
    private static void awaitListening(int port) throws Exception {
        String local = String.format(":%04X ", port);
        long end = System.nanoTime() + RestoreWorkload.PATIENCE_MS * 1_000_000L;
        while (System.nanoTime() < end) {
            for (String l : Files.readAllLines(Path.of("/proc/net/tcp"))) {
                String[] f = l.trim().split("\\s+");
                if (f.length > 3 && (f[1] + " ").endsWith(local) && f[3].equals("0A")) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("nothing listens on port " + port);
    }
}
