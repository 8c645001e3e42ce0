package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each file kind ↔ its files.img entry, and the checkpoint's rules for fd slots and the file table. */
class FileCodecsTest {
    private static final int O_RDWR = 02;
    private static final int O_APPEND = 02000;

    @Test
    void regularFileRoundTrip() {
        RegularFile f = new RegularFile(7, "/var/log/app.log", O_RDWR | O_APPEND, 4096);
        file_entry e = FileCodecs.encode(f);
        assertEquals(fd_types.REG, e.getType());
        assertEquals(7, e.getId());
        assertEquals("/var/log/app.log", e.getReg().getName());
        assertFalse(e.getReg().hasMode(), "st_mode of a regular file is not in the model");
        assertEquals(f, FileCodecs.decode(e));
    }

    @Test
    void devNullRoundTripWithItsCharDeviceMode() {
        DevNull f = new DevNull(1, O_RDWR, 0);
        file_entry e = FileCodecs.encode(f);
        assertEquals(fd_types.REG, e.getType(), "CRIU stores /dev/null as a regular file");
        assertEquals(020666, e.getReg().getMode());
        assertEquals(f, FileCodecs.decode(e));
    }

    @Test
    void terminalRoundTrip() {
        Terminal f = new Terminal(2, "/dev/pts/5", O_RDWR, 0);
        file_entry e = FileCodecs.encode(f);
        assertEquals(020620, e.getReg().getMode());
        assertEquals(f, FileCodecs.decode(e));
    }

    @Test
    void aRegEntryIsDecodedAsTheKindItsPathNames() {
        assertTrue(FileCodecs.decode(RegEntries.entry(3, "/dev/null", 0, 0, 0)) instanceof DevNull);
        assertTrue(FileCodecs.decode(RegEntries.entry(3, "/dev/tty1", 0, 0, 0)) instanceof Terminal);
        assertTrue(FileCodecs.decode(RegEntries.entry(3, "/dev/nullish", 0, 0, 0)) instanceof RegularFile);
    }

    @Test
    void anUnsupportedKindIsRefusedNamingItsType() {
        file_entry packet = file_entry.newBuilder().setType(fd_types.PACKETSK).setId(9).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(packet));
        assertEquals("file id 9 is of type PACKETSK; " + FileCodecs.SUPPORTED, e.getMessage());
        assertFalse(FileCodecs.supports(fd_types.PACKETSK));
        assertTrue(FileCodecs.supports(fd_types.PIPE));
        assertTrue(FileCodecs.supports(fd_types.INETSK));
        assertTrue(FileCodecs.supports(fd_types.UNIXSK));
        assertTrue(FileCodecs.supports(fd_types.REG));
    }

    @Test
    void aRegEntryWithoutItsSubMessageIsRefused() {
        file_entry bare = file_entry.newBuilder().setType(fd_types.REG).setId(4).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FileCodecs.decode(bare));
        assertEquals("file id 4 is of type REG without a reg entry, expected REG", e.getMessage());
    }

    @Test
    void kindsRefuseEachOthersPaths() {
        assertThrows(IllegalArgumentException.class, () -> new RegularFile(1, "/dev/null", 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new RegularFile(1, "/dev/pts/0", 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Terminal(1, "/tmp/x", 0, 0));
    }

    @Test
    void aSlotMustPointIntoTheFileTable() {
        ProcessImage p = new ProcessImage(Samples.state(), List.of(Samples.leader()), Samples.vmas(), Samples.pagemap(),
                List.of(new FdSlot(0, false, 1), new FdSlot(1, false, 5)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checkpoint.of(p, List.of(new DevNull(1, 0, 0))));
        assertEquals("process 4242 fd 1 points at file id 5, which is not in the file table", e.getMessage());
    }

    @Test
    void fileIdsAreUniqueAndKeptInIdOrder() {
        ProcessImage p = Samples.process(List.of(Samples.leader()));
        List<FileObject> reversed = List.of(new RegularFile(3, "/tmp/a", 0, 0), new Terminal(2, "/dev/pts/3", 0, 0),
                new DevNull(1, 0, 0));
        assertEquals(List.of(1, 2, 3), Checkpoint.of(p, reversed).files().stream().map(FileObject::id).toList());
        assertThrows(IllegalArgumentException.class,
                () -> Checkpoint.of(p, List.of(new DevNull(1, 0, 0), new DevNull(1, 0, 0), new Terminal(2, "/dev/pts/3", 0, 0),
                        new RegularFile(3, "/tmp/a", 0, 0))));
    }

    @Test
    void theLeaderComesFirst() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Samples.process(List.of(Samples.worker(), Samples.leader())));
        assertTrue(e.getMessage().startsWith("process 4242: the first thread must be the leader"), e.getMessage());
    }
}
