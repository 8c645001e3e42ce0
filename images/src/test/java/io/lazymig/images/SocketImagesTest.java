package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.inet_sk_entry;
import io.lazymig.images.proto.netlink_sk_entry;
import io.lazymig.images.proto.sk_packet_entry;
import io.lazymig.images.proto.unix_sk_entry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Socket entries of a checkpoint (INETSK, UNIXSK and NETLINKSK entries of files.img, packets of
 * sk-queues.img) that are malformed, truncated or inconsistent: each is one ImageException naming
 * the image and the socket, before restore creates anything.
 */
class SocketImagesTest {
    private final XsaveLayout layout = SyntheticCpu.amdAvx512();

    @TempDir
    Path dir;

    @Test
    void theSocketSampleRoundTrips() throws Exception {
        Checkpoint c = SocketSamples.write(dir);
        assertTrue(Files.exists(dir.resolve("sk-queues.img")));
        assertEquals(c, Checkpoint.read(dir, layout));
    }

    /** A cut inside an entry names files.img; a cut between entries loses files, named by the image that refers to one. */
    @Test
    void everyTruncationOfFilesImgIsAnErrorNamingIt() throws Exception {
        SocketSamples.write(dir);
        Path files = dir.resolve("files.img");
        byte[] whole = Files.readAllBytes(files);
        for (int length = 0; length < whole.length; length++) {
            Files.write(files, Arrays.copyOf(whole, length));
            ImageException e = assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout),
                    "files.img cut to " + length + " bytes");
            assertTrue(e.getMessage().matches("^(files|fdinfo-\\d+|mm-\\d+)\\.img: .+"), length + ": " + e.getMessage());
        }
    }

    /** A cut inside a packet is an error; a cut between packets leaves a shorter queue (the image has no count). */
    @Test
    void everyTruncationOfSkQueuesIsAnErrorOrAShorterQueue() throws Exception {
        Checkpoint c = SocketSamples.write(dir);
        Path queues = dir.resolve("sk-queues.img");
        byte[] whole = Files.readAllBytes(queues);
        int shorter = 0;
        for (int length = 0; length < whole.length; length++) {
            Files.write(queues, Arrays.copyOf(whole, length));
            try {
                Checkpoint back = Checkpoint.read(dir, layout);
                shorter++;
                assertTrue(queuedBytes(back) < queuedBytes(c), length + ": a cut image read whole");
            } catch (ImageException e) {
                assertTrue(e.getMessage().startsWith("sk-queues.img: "), length + ": " + e.getMessage());
            }
        }
        assertTrue(shorter <= 2, shorter + " cuts accepted: only the ones between the 2 packets may be");
    }

    private static int queuedBytes(Checkpoint c) {
        int n = 0;
        for (FileObject f : c.files()) {
            if (f instanceof UnixSock u) {
                for (byte[] p : u.queue()) {
                    n += p.length;
                }
            }
        }
        return n;
    }

    @Test
    void malformedInetEntries() throws Exception {
        refused(4, isk(b -> b.setFamily(99)), "files.img: ", "family 99");
        refused(4, isk(b -> b.clearSrcAddr().addSrcAddr(1).addSrcAddr(2)), "files.img: ", "src_addr has 2 words");
        refused(4, isk(b -> b.setProto(InetSocket.IPPROTO_UDP)), "files.img: ", "neither TCP (stream) nor UDP");
        refused(4, isk(b -> b.setSrcPort(70000)), "files.img: ", "port out of range");
        refused(4, isk(b -> b.setState(0)), "files.img: ", "state 0 is not a TCP state");
        refused(4, isk(b -> b.setState(99)), "files.img: ", "state 99");
        refused(4, isk(b -> b.setBacklog(0x8000_0000)), "files.img: ", "negative backlog");
        refused(4, isk(b -> b.setOpts(b.getOpts().toBuilder().setSoSndbuf(-1))), "files.img: ", "negative value");
        refused(4, e -> e.toBuilder().clearIsk().build(), "files.img: ", "without an isk entry");
        refused(6, isk(b -> b.setIno(71)), "files.img: ", "socket:[71] is described twice (file ids 4 and 6)");
    }

    @Test
    void malformedUnixEntries() throws Exception {
        refused(7, usk(b -> b.setType(9)), "files.img: ", "type 9 is not stream, datagram or seqpacket");
        refused(7, usk(b -> b.setState(3)), "files.img: ", "state 3");
        refused(7, usk(b -> b.setName(ByteString.copyFromUtf8("run/app.sock"))), "files.img: ", "relative path");
        refused(7, usk(b -> b.setName(ByteString.copyFrom(("/" + "x".repeat(200)).getBytes()))), "files.img: ",
                "a name of 201 bytes");
        refused(7, e -> e.toBuilder().clearUsk().build(), "files.img: ", "without a usk entry");
        refused(8, usk(b -> b.setPeer(999)), "files.img: ",
                "unix socket 8 (socket:[81]): its peer socket:[999] is not a unix socket of the checkpoint");
        refused(8, usk(b -> b.setPeer(71)), "files.img: ", "its peer socket:[71] is not a unix socket of the checkpoint");
        refused(8, usk(b -> b.setPeer(80)), "files.img: ",
                "unix socket 8 (socket:[81]): its peer socket:[80] is not connected back to it with the same type");
        refused(9, usk(b -> b.setType(UnixSock.SOCK_DGRAM)), "files.img: ", "is not connected back to it with the same type");
        refused(9, usk(b -> b.setIno(80)), "files.img: ", "socket:[80] is described twice");
        refused(8, usk(b -> b.setPeer(81)), "files.img: ", "unix socket 8 (socket:[81]) is connected to itself");
        refused(10, usk(b -> b.setPeer(81)), "files.img: ", "its peer socket:[81] is not connected back to it");
    }

    @Test
    void malformedNetlinkEntries() throws Exception {
        refused(11, nlsk(b -> b.setIno(80)), "files.img: ", "socket:[80] is described twice");
        refused(11, nlsk(b -> b.setProtocol(40)), "files.img: ", "protocol 40 out of range");
        refused(11, nlsk(b -> b.addGroups(2)), "files.img: ", "netlink groups above 32 are not supported");
        refused(11, e -> e.toBuilder().clearNlsk().build(), "files.img: ", "without an nlsk entry");
    }

    @Test
    void malformedQueues() throws Exception {
        queue(List.of(packet(4, "x")), "sk-queues.img: a packet for file id 4, which is not an open unix socket");
        queue(List.of(packet(99, "x")), "sk-queues.img: a packet for file id 99, which is not an open unix socket");
        queue(List.of(packet(11, "x")), "sk-queues.img: a packet for file id 11, which is not an open unix socket");
        queue(List.of(packet(7, "x")), "sk-queues.img: data queued on unix socket 7 (socket:[80]), which is listening");
        queue(List.of(packet(10, "x")),
                "sk-queues.img: data queued on unix socket 10 (socket:[90]), which has neither name nor peer to receive it through");
        SocketSamples.write(dir);
        try (ImageWriter w = ImageWriter.create(dir.resolve("sk-queues.img"), ImageType.SK_QUEUES)) {
            w.write(sk_packet_entry.newBuilder().setIdFor(8).setLength(100).build());
            w.writeBlob("short".getBytes());
            w.commit();
        }
        assertEquals("sk-queues.img: entry 1's data of 100 bytes but only 5 left (truncated)",
                assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout)).getMessage());
        try (ImageWriter w = ImageWriter.create(dir.resolve("sk-queues.img"), ImageType.SK_QUEUES)) {
            w.write(sk_packet_entry.newBuilder().setIdFor(8).setLength(1).addScm(
                    io.lazymig.images.proto.scm_entry.newBuilder().setType(1).addRights(77).build()).build());
            w.writeBlob("x".getBytes());
            w.commit();
        }
        assertEquals("sk-queues.img: unix socket 8 (socket:[81]) has an fd in flight of file id 77, which is not in files.img",
                assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout)).getMessage());
    }

    private static ImageDir.QueuedPacket packet(int id, String data) {
        return new ImageDir.QueuedPacket(id, data.getBytes());
    }

    private void queue(List<ImageDir.QueuedPacket> packets, String message) throws Exception {
        SocketSamples.write(dir);
        ImageDir.of(dir).writeSkQueues(packets);
        assertEquals(message, assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout)).getMessage());
    }

    private static UnaryOperator<file_entry> isk(UnaryOperator<inet_sk_entry.Builder> change) {
        return e -> e.toBuilder().setIsk(change.apply(e.getIsk().toBuilder())).build();
    }

    private static UnaryOperator<file_entry> usk(UnaryOperator<unix_sk_entry.Builder> change) {
        return e -> e.toBuilder().setUsk(change.apply(e.getUsk().toBuilder())).build();
    }

    private static UnaryOperator<file_entry> nlsk(UnaryOperator<netlink_sk_entry.Builder> change) {
        return e -> e.toBuilder().setNlsk(change.apply(e.getNlsk().toBuilder())).build();
    }

    /** The sample with file {@code id}'s entry changed must be refused with a message starting with {@code image} and containing {@code reason}. */
    private void refused(int id, UnaryOperator<file_entry> change, String image, String reason) throws Exception {
        SocketSamples.write(dir);
        ImageDir d = ImageDir.of(dir);
        List<file_entry> entries = new ArrayList<>();
        boolean found = false;
        for (file_entry e : d.readFiles()) {
            if (e.getId() == id) {
                e = change.apply(e);
                found = true;
            }
            entries.add(e);
        }
        if (!found) {
            fail("no file id " + id);
        }
        d.writeFiles(entries);
        ImageException e = assertThrows(ImageException.class, () -> Checkpoint.read(dir, layout), reason);
        assertTrue(e.getMessage().startsWith(image) && e.getMessage().contains(reason), "'" + reason + "' wanted: " + e.getMessage());
    }
}
