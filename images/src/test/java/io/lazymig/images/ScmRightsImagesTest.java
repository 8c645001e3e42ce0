package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fds in flight in a unix socket's queue (SCM_RIGHTS): the packet's scm entry in sk-queues.img
 * names the passed files by their ids in files.img (CRIU's scm_entry); they round-trip, crit
 * decodes them, and an entry naming a missing file, a kind restore does not pass, or another SCM
 * type is one ImageException.
 */
class ScmRightsImagesTest {
    private static final int PASSED_FILE = 30;
    private static final int PASSED_PIPE = 31;
    private static final int SOCKET_A = 32;

    private final XsaveLayout layout = SyntheticCpu.amdAvx512();

    @TempDir
    Path dir;

    /** A socketpair whose first end has two packets queued, the second carrying a regular file and a pipe's read end. */
    private static Checkpoint sample(List<Integer> passed) {
        List<FileObject> files = new ArrayList<>(Samples.files());
        files.add(new RegularFile(PASSED_FILE, "/tmp/passed.txt", 0, 5));
        files.add(new Pipe(PASSED_PIPE, 4242, 0, false, new PipeBuffer(65536, "in the pipe".getBytes(StandardCharsets.UTF_8))));
        files.add(new UnixSock(SOCKET_A, 181, UnixSock.SOCK_DGRAM, UnixSock.TCP_ESTABLISHED, new byte[0], 182, 0, 0,
                SocketOptions.DEFAULTS, 0, -1, 0, 0, List.of("plain".getBytes(), "with fds".getBytes()), new byte[0],
                List.of(List.of(), passed)));
        files.add(new UnixSock(SOCKET_A + 1, 182, UnixSock.SOCK_DGRAM, UnixSock.TCP_ESTABLISHED, new byte[0], 181, 0, 0,
                SocketOptions.DEFAULTS, 0, -1, 0, 0, List.of(), new byte[0]));
        List<FdSlot> fds = new ArrayList<>(Samples.fds());
        fds.add(new FdSlot(SOCKET_A, false, SOCKET_A));
        fds.add(new FdSlot(SOCKET_A + 1, false, SOCKET_A + 1));
        ProcessImage p = new ProcessImage(Samples.state(), List.of(Samples.leader()), Samples.vmas(), Samples.pagemap(), fds);
        return Checkpoint.of(p, files);
    }

    private Checkpoint write(Checkpoint c) throws Exception {
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        return c;
    }

    @Test
    void passedFdsRoundTrip() throws Exception {
        Checkpoint c = write(sample(List.of(PASSED_FILE, PASSED_PIPE)));
        Checkpoint back = Checkpoint.read(dir, layout);
        assertEquals(c, back);
        UnixSock s = (UnixSock) back.file(SOCKET_A);
        assertEquals(List.of(List.of(), List.of(PASSED_FILE, PASSED_PIPE)), s.rights());
        assertEquals(List.of(PASSED_FILE, PASSED_PIPE), s.passedFiles());
    }

    @Test
    void critDecodesTheScmEntry() throws Exception {
        write(sample(List.of(PASSED_FILE, PASSED_PIPE)));
        String q = crit("decode", "-i", dir.resolve("sk-queues.img").toString()).replaceAll("\\s+", "");
        assertTrue(q.contains("{\"id_for\":" + SOCKET_A + ",\"length\":5,\"extra\""), q);
        assertTrue(q.contains("\"id_for\":" + SOCKET_A + ",\"length\":8,\"scm\":[{\"type\":1,\"rights\":["
                + PASSED_FILE + "," + PASSED_PIPE + "]}]"), q);
    }

    @Test
    void badScmEntries() throws Exception {
        write(sample(List.of(PASSED_FILE, 99)));
        assertEquals("sk-queues.img: unix socket 32 (socket:[181]) has an fd in flight of file id 99, which is not in files.img",
                assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout)).getMessage());
        write(sample(List.of(SOCKET_A + 1)));
        assertEquals("sk-queues.img: unix socket 32 (socket:[181]) has an fd in flight of file id 33, unix datagram "
                + "(peer socket:[181]) (not a kind restore passes)",
                assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout)).getMessage());
        write(sample(List.of(PASSED_FILE)));
        try (ImageWriter w = ImageWriter.create(dir.resolve("sk-queues.img"), ImageType.SK_QUEUES)) {
            w.write(io.lazymig.images.proto.sk_packet_entry.newBuilder().setIdFor(SOCKET_A).setLength(1).addScm(
                    io.lazymig.images.proto.scm_entry.newBuilder().setType(2).build()).build());
            w.writeBlob("x".getBytes());
            w.commit();
        }
        assertEquals("sk-queues.img: entry 1 carries SCM data of type 2 (only SCM_RIGHTS, passed fds, is supported)",
                assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout)).getMessage());
    }

    @Test
    void onePassedListAPacket() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new UnixSock(SOCKET_A, 181,
                UnixSock.SOCK_DGRAM, UnixSock.TCP_ESTABLISHED, new byte[0], 182, 0, 0, SocketOptions.DEFAULTS, 0, -1, 0, 0,
                List.of("a".getBytes()), new byte[0], List.of(List.of(), List.of(PASSED_FILE))));
        assertEquals("unix socket 32: 2 passed-fd lists for 1 queued packets", e.getMessage());
    }

    private String crit(String... args) throws Exception {
        Path out = Files.createTempFile("lazymig-crit-", ".out");
        try {
            List<String> command = new ArrayList<>(List.of("crit"));
            command.addAll(List.of(args));
            Process p;
            try {
                p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(
                        ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectOutput(out.toFile()).start();
            } catch (java.io.IOException e) {
                fail("crit is not installed: run `apt-get install -y criu` (Debian's criu package ships /usr/bin/crit): " + e);
                throw e;
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("crit did not finish within 60 s");
            }
            String output = Files.readString(out, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), "crit " + String.join(" ", args) + ":\n" + output);
            return output;
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
