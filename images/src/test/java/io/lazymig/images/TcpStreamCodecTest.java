package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.tcp_stream_entry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An established connection dumped with --tcp-established: its inetsk entry plus tcp-stream-INO.img
 * (INO in hex; the entry then the receive queue's bytes, then the send queue's), read back equal
 * through a whole checkpoint, refused when truncated or inconsistent, decoded by crit.
 */
@Timeout(120)
class TcpStreamCodecTest {
    @TempDir
    Path dir;

    static TcpStream stream() {
        byte[] inq = "records from the client\n".getBytes(StandardCharsets.US_ASCII);
        byte[] outq = "acknowledged? no. unsent!".getBytes(StandardCharsets.US_ASCII);
        return new TcpStream(0xfedcba98, 0x12345678, TcpStream.TCPI_OPT_TIMESTAMPS | TcpStream.TCPI_OPT_SACK
                | TcpStream.TCPI_OPT_WSCALE, 7, 9, 1448, 0x8000_0001, 8, 0x12345000, 65535, 70000, 64256, 0xfedcb000, false,
                inq, outq);
    }

    static InetSocket connection() {
        return new InetSocket(5, 0x1a2b3c, InetSocket.AF_INET, InetSocket.SOCK_STREAM, InetSocket.IPPROTO_TCP,
                InetSocket.TCP_ESTABLISHED, new byte[] {10, (byte) 231, 77, 100}, 2727,
                new byte[] {10, (byte) 231, 77, 3}, 41000, 0, 04000, SocketOptions.DEFAULTS, false, true, false)
                .withStream(stream());
    }

    static Checkpoint checkpoint() {
        List<FileObject> files = new ArrayList<>(Samples.files().subList(0, 2));
        files.add(connection());
        List<FdSlot> fds = new ArrayList<>(List.of(new FdSlot(0, false, 1), new FdSlot(1, false, 2),
                new FdSlot(2, false, 2), new FdSlot(3, true, 5)));
        ProcessImage p = new ProcessImage(Samples.state(), List.of(Samples.leader()), Samples.vmas(), Samples.pagemap(),
                fds);
        return Checkpoint.of(p, files);
    }

    @Test
    void entryHoldsCriusFields() {
        tcp_stream_entry e = TcpStreamCodec.encode(stream(), true);
        assertEquals(24, e.getInqLen());
        assertEquals(25, e.getOutqLen());
        assertEquals(8, e.getUnsqLen());
        assertEquals(0xfedcba98, e.getInqSeq());
        assertEquals(7, e.getOptMask());
        assertEquals(1448, e.getMssClamp());
        assertTrue(e.getNodelay());
        assertEquals(stream(), TcpStreamCodec.decode(e, stream().inq(), stream().outq()));
    }

    @Test
    void checkpointRoundTripWritesTcpStreamImageNamedInHex() throws Exception {
        Checkpoint c = checkpoint();
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        Path img = dir.resolve("tcp-stream-1a2b3c.img");
        assertTrue(Files.exists(img), "tcp-stream-INO.img with the inode in hex, as CRIU names it");
        byte[] all = Files.readAllBytes(img);
        byte[] tail = Arrays.copyOfRange(all, all.length - 49, all.length);
        assertEquals("records from the client\nacknowledged? no. unsent!", new String(tail, StandardCharsets.US_ASCII),
                "the receive queue, then the send queue, after the entry");
        Checkpoint back = Checkpoint.read(dir);
        InetSocket s = (InetSocket) back.files().stream().filter(f -> f.id() == 5).findFirst().orElseThrow();
        assertEquals(connection(), s);
        assertArrayEquals(stream().outq(), s.stream().outq());
        assertEquals(2, s.stream().has(TcpStream.TCPI_OPT_SACK) ? 2 : 0);
    }

    @Test
    void withoutTheImageTheConnectionHasNoStream() throws Exception {
        Checkpoint c = checkpoint();
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        Files.delete(dir.resolve("tcp-stream-1a2b3c.img"));
        InetSocket s = (InetSocket) Checkpoint.read(dir).files().stream().filter(f -> f.id() == 5).findFirst().orElseThrow();
        assertNull(s.stream(), "restored closed, as a connection dumped without --tcp-established");
    }

    @Test
    void truncatedOrInconsistentImagesAreRefusedNamingTheFile() throws Exception {
        Checkpoint c = checkpoint();
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        Path img = dir.resolve("tcp-stream-1a2b3c.img");
        byte[] all = Files.readAllBytes(img);
        Files.write(img, Arrays.copyOf(all, all.length - 1));
        ImageException e = assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), containsString("tcp-stream-1a2b3c.img: the send queue of 25 bytes but only 24 left"));
        ImageDir d = ImageDir.of(dir);
        tcp_stream_entry bad = TcpStreamCodec.encode(stream(), false).toBuilder().setUnsqLen(99).build();
        d.writeTcpStream(0x1a2b3c, new ImageDir.TcpStreamImage(bad, stream().inq(), stream().outq()));
        e = assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), containsString("tcp-stream-1a2b3c.img"));
        assertThat(e.getMessage(), containsString("99 unsent bytes in a send queue of 25"));
        tcp_stream_entry noWindow = TcpStreamCodec.encode(stream(), false).toBuilder().clearRcvWnd().build();
        d.writeTcpStream(0x1a2b3c, new ImageDir.TcpStreamImage(noWindow, stream().inq(), stream().outq()));
        e = assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), containsString("no window"));
        assertThrows(IllegalArgumentException.class, () -> new InetSocket(5, 1, InetSocket.AF_INET,
                InetSocket.SOCK_STREAM, InetSocket.IPPROTO_TCP, InetSocket.TCP_LISTEN, new byte[4], 1, new byte[4], 0, 1, 0,
                SocketOptions.DEFAULTS, false, false, false, stream()), "a listener carries no stream");
    }

    @Test
    void critDecodesTheStreamAndItsQueues() throws Exception {
        Checkpoint c = checkpoint();
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        String s = Crit.run(Path.of("/"), "decode", "-i", dir.resolve("tcp-stream-1a2b3c.img").toString()).replaceAll("\\s+", "");
        assertThat(s, containsString("\"magic\":\"TCP_STREAM\""));
        assertThat(s, containsString("\"inq_len\":24,\"inq_seq\":4275878552,\"outq_len\":25,\"outq_seq\":305419896"));
        assertThat(s, containsString("\"mss_clamp\":1448"));
        assertThat(s, containsString("\"unsq_len\":8"));
        assertThat(s, containsString("\"rcv_wnd\":64256"));
        String files = Crit.run(Path.of("/"), "decode", "-i", dir.resolve("files.img").toString()).replaceAll("\\s+", "");
        assertThat(files, containsString("\"type\":\"INETSK\",\"id\":5"));
        assertThat(files, containsString("\"state\":1,"));
    }

}
