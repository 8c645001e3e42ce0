package io.lazymig.it;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encryption on the wire, with the real commands over real TCP: a lazy restore of checksum-loop
 * through a proxy that records every byte. Encrypted by default (key files made by {@code lazymig
 * keygen}): byte-exact, and no sample of the workload's memory (taken from the dump's pages file)
 * crossed the proxy as is; with --no-encryption on both ends every sample did. Before the real
 * daemon: one with another key file, one with --no-encryption (a mismatch) and a silent peer are
 * each refused with one line naming the cause, and the restore after them loses nothing.
 */
class EncryptionIT {
    private static final Pattern SERVING = Pattern.compile("serving process \\d+ .* on \\S*:(\\d+)");
    private static final String SIZE_MIB = "48";
    private static final int SAMPLES = 16;

    @TempDir
    Path dir;

    @Test
    @Timeout(240)
    void encryptedByDefaultByteExactNothingInTheClearAndEveryRefusalOneLine() throws Exception {
        Path key = keygen("a.key");
        Path other = keygen("b.key");
        try (Setup s = new Setup(dir, "--auth-key", key.toString())) {
            // another key file: one line on each side, non-zero exit, nothing waited for
            RestoreLauncher.Running wrong = s.daemon("wrong", "--auth-key", other.toString());
            assertNotEquals(0, wrong.awaitExit(), wrong.log());
            assertThat(wrong.log(), containsString("different key files"));
            s.server.awaitLog("different key files");
            // one end without encryption: told at once, on both sides
            RestoreLauncher.Running plain = s.daemon("plain", "--auth-key", key.toString(), "--no-encryption");
            assertNotEquals(0, plain.awaitExit(), plain.log());
            assertThat(plain.log(), containsString("requires encryption"));
            assertThat(plain.log(), containsString("--no-encryption"));
            s.server.awaitLog("speaks lazymig without encryption");
            // a silent peer, and one that stops inside its TLS hello: both dropped at the deadline
            try (SocketChannel silent = SocketChannel.open(s.serverAddress);
                 SocketChannel stalled = SocketChannel.open(s.serverAddress)) {
                stalled.write(java.nio.ByteBuffer.wrap(new byte[] {22, 3, 1, 0x40, 0}));
                s.restoreByteExact("--auth-key", key.toString());
                s.server.awaitLog("handshake did not complete within 10 s");
                assertTrue(countOf(s.server.log(), "handshake did not complete within 10 s") >= 1, s.server.log());
            }
            assertThat(s.proxy.bytes(), greaterThan(Long.parseLong(SIZE_MIB) << 20));
            for (byte[] sample : s.samples()) {
                assertFalse(s.proxy.saw(sample), "a sample of the workload's memory crossed the wire in the clear");
            }
            assertThat(s.server.log(), not(containsString("WARNING: --no-encryption")));
        }
    }

    @Test
    @Timeout(240)
    void withNoEncryptionThePagesCrossInTheClearAndATlsClientIsToldAtOnce() throws Exception {
        Path key = keygen("a.key");
        try (Setup s = new Setup(dir, "--auth-key", key.toString(), "--no-encryption")) {
            assertThat(s.server.log(), containsString("WARNING: --no-encryption"));
            RestoreLauncher.Running tls = s.daemon("tls", "--auth-key", key.toString());
            assertNotEquals(0, tls.awaitExit(), tls.log());
            assertThat(tls.log(), containsString("answered without TLS: it runs with --no-encryption"));
            s.server.awaitLog("speaks TLS (encryption on) and this side runs with --no-encryption");
            s.restoreByteExact("--auth-key", key.toString(), "--no-encryption");
            assertThat(s.daemon.log(), containsString("WARNING: --no-encryption"));
            for (byte[] sample : s.samples()) {
                assertTrue(s.proxy.saw(sample), "a sample of the workload's memory did not cross the plain wire as is");
            }
        }
    }

    private Path keygen(String name) throws Exception {
        Path k = dir.resolve(name);
        RestoreLauncher.Result r = RestoreLauncher.run(dir, "keygen", k.toString());
        assertEquals(0, r.exit(), r.toString());
        return k;
    }

    private static int countOf(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** checksum-loop dumped; its lazy server (with the given key options) behind a recording proxy. */
    private static final class Setup implements AutoCloseable {
        final RestoreCycle cycle;
        final RestoreWorkload workload;
        final RestoreLauncher.Running server;
        final InetSocketAddress serverAddress;
        final RecordingProxy proxy;
        RestoreLauncher.Running daemon;

        Setup(Path dir, String... keyOptions) throws Exception {
            workload = RestoreWorkload.c(dir, "checksum-loop", SIZE_MIB, "20");
            cycle = new RestoreCycle(dir, workload);
            cycle.dump(3, false);
            List<String> a = new ArrayList<>(List.of("lazy-pages", "--lazy-server", "-D", cycle.images.toString(),
                    "--address", "127.0.0.1", "--port", "0", "-v", "3"));
            a.addAll(List.of(keyOptions));
            server = cycle.closeLater(RestoreLauncher.start(dir.resolve("lazy-server.log"), a.toArray(String[]::new)));
            Matcher m = SERVING.matcher(server.awaitLog("serving process"));
            assertTrue(m.find(), "no port in the lazy server's log:\n" + server.log());
            serverAddress = new InetSocketAddress("127.0.0.1", Integer.parseInt(m.group(1)));
            proxy = new RecordingProxy(serverAddress, 1L << 30);
        }

        /** A daemon through the proxy, left to run: it fails at its handshake or serves the restore. */
        RestoreLauncher.Running daemon(String name, String... keyOptions) throws IOException {
            List<String> a = new ArrayList<>(List.of("--lazy-client", "127.0.0.1", "--port",
                    Integer.toString(proxy.port())));
            a.addAll(List.of(keyOptions));
            return cycle.closeLater(RestoreLauncher.startLazyPages(cycle.dir.resolve("lazy-pages-" + name + ".log"),
                    cycle.dir.resolve(name + ".sock"), cycle.images, a.toArray(String[]::new)));
        }

        /** The real daemon and restore: every page in, the process's checksums unchanged. */
        void restoreByteExact(String... keyOptions) throws Exception {
            Path sock = cycle.dir.resolve("lazy.sock");
            List<String> a = new ArrayList<>(List.of("--lazy-client", "127.0.0.1", "--port",
                    Integer.toString(proxy.port())));
            a.addAll(List.of(keyOptions));
            daemon = cycle.closeLater(RestoreLauncher.lazyPages(cycle.dir.resolve("lazy-pages.log"), sock, cycle.images,
                    a.toArray(String[]::new)));
            cycle.restore("--lazy-pages", "--address", sock.toString());
            cycle.restore.awaitLog("running after");
            cycle.awaitRestoredLine();
            assertEquals(0, daemon.awaitExit(), daemon.log());
            assertThat(daemon.log(), containsString("every page is in"));
            assertThat(daemon.log(), not(containsString("Exception")));
            long n = workload.lastCounter();
            workload.awaitLine("a checksum after the transfer", l -> l.counter() > n);
            cycle.assertOneContinuousRun(workload.pid);
        }

        /** {@value #SAMPLES} 64-byte pieces of the workload's memory, from the dump's pages file (none all zero). */
        List<byte[]> samples() throws IOException {
            Path pages;
            try (Stream<Path> s = Files.list(cycle.images)) {
                pages = s.filter(p -> p.getFileName().toString().startsWith("pages-")).findFirst().orElseThrow();
            }
            byte[] all = Files.readAllBytes(pages);
            List<byte[]> out = new ArrayList<>();
            for (int i = 1; i <= SAMPLES; i++) {
                int at = (int) ((long) all.length * i / (SAMPLES + 2)) & ~63;
                byte[] b = java.util.Arrays.copyOfRange(all, at, at + 64);
                boolean zero = true;
                for (byte x : b) {
                    zero &= x == 0;
                }
                if (!zero) {
                    out.add(b);
                }
            }
            assertThat(out.size(), greaterThan(SAMPLES / 2));
            return out;
        }

        @Override
        public void close() throws Exception {
            proxy.close();
            cycle.close();
        }
    }
}
