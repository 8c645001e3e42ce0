package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.pipe_data_entry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pipes and FIFOs through files.img, pipes-data.img and fifo-data.img, in CRIU's layout, and their bad input. */
class PipeImagesTest {
    static final int O_WRONLY = 01;
    static final int O_RDWR = 02;
    static final int O_NONBLOCK = 04000;
    static final int PIPE = 70001;
    static final int LONELY = 70002;
    static final int OUTSIDE = 70003;
    static final int FIFO = 555;
    static final byte[] IN_FLIGHT = "in flight\0 both ways \u00ff".getBytes(StandardCharsets.UTF_8);
    static final byte[] FIFO_BYTES = "queued in the fifo".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    /** The sample with a pipe (both ends, bytes in flight), a read end alone, an external write end and a FIFO. */
    static Checkpoint withPipes() {
        Checkpoint s = Samples.checkpoint();
        List<FileObject> files = new ArrayList<>(s.files());
        PipeBuffer data = new PipeBuffer(65536, IN_FLIGHT);
        files.add(new Pipe(10, PIPE, 0, false, data));
        files.add(new Pipe(11, PIPE, O_WRONLY | O_NONBLOCK, false, data));
        files.add(new Pipe(12, LONELY, 0, false, new PipeBuffer(1 << 20, new byte[0])));
        files.add(new Pipe(13, OUTSIDE, O_WRONLY, true, PipeBuffer.NONE));
        files.add(new Fifo(14, FIFO, "/tmp/sample.fifo", 0640, O_RDWR, new PipeBuffer(4096, FIFO_BYTES)));
        List<FdSlot> fds = new ArrayList<>(s.root().fds());
        fds.add(new FdSlot(4, false, 10));
        fds.add(new FdSlot(5, true, 11));
        fds.add(new FdSlot(6, false, 12));
        fds.add(new FdSlot(7, false, 13));
        fds.add(new FdSlot(1000, false, 14));
        fds.add(new FdSlot(1001, false, 10));
        ProcessImage p = s.root();
        return Checkpoint.of(new ProcessImage(p.state(), p.threads(), p.vmas(), p.pagemap(), fds), files);
    }

    private Checkpoint write(Checkpoint c) throws IOException {
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        return c;
    }

    private Checkpoint read() throws IOException {
        return Checkpoint.read(dir, SyntheticCpu.AMD.layout(SyntheticCpu.AVX512));
    }

    @Test
    void roundTrip() throws IOException {
        Checkpoint c = write(withPipes());
        Checkpoint back = read();
        assertEquals(c.files(), back.files());
        assertEquals(c.root().fds(), back.root().fds());
        Pipe r = (Pipe) back.file(10);
        assertArrayEquals(IN_FLIGHT, r.buffer().bytes());
        assertEquals(65536, r.buffer().size());
        assertFalse(r.isWriteEnd());
        assertTrue(((Pipe) back.file(11)).isWriteEnd());
        assertTrue(((Pipe) back.file(13)).external());
        assertEquals("pipe:[70003]", ((Pipe) back.file(13)).resource());
        assertEquals("/tmp/sample.fifo", ((Fifo) back.file(14)).path());
    }

    @Test
    void criuLayout() throws IOException {
        write(withPipes());
        ImageDir d = ImageDir.of(dir);
        // pipes-data.img: one entry per pipe (not per end), the external one has none; bytes follow
        List<ImageDir.PipeDataEntry> pipes = d.readPipeData(ImageType.PIPES_DATA);
        assertEquals(2, pipes.size());
        assertEquals(PIPE, pipes.get(0).entry().getPipeId());
        assertEquals(IN_FLIGHT.length, pipes.get(0).entry().getBytes());
        assertEquals(65536, pipes.get(0).entry().getSize());
        assertArrayEquals(IN_FLIGHT, pipes.get(0).bytes());
        assertEquals(LONELY, pipes.get(1).entry().getPipeId());
        assertEquals(0, pipes.get(1).entry().getBytes());
        byte[] raw = Files.readAllBytes(dir.resolve("pipes-data.img"));
        assertEquals(Magic.IMG_COMMON, le32(raw, 0));
        assertEquals(Magic.PIPES_DATA, le32(raw, 4));
        int size = le32(raw, 8);
        assertArrayEquals(IN_FLIGHT, java.util.Arrays.copyOfRange(raw, 12 + size, 12 + size + IN_FLIGHT.length));
        assertEquals(Magic.FIFO_DATA, le32(Files.readAllBytes(dir.resolve("fifo-data.img")), 4));
        // files.img: a FIFO entry naming a REG entry with its path and flags (mode S_IFIFO)
        List<file_entry> entries = d.readFiles();
        file_entry fifo = entries.stream().filter(e -> e.getType() == fd_types.FIFO).findFirst().orElseThrow();
        assertEquals(FIFO, fifo.getFifo().getPipeId());
        file_entry reg = entries.stream().filter(e -> e.getId() == fifo.getFifo().getRegfId()).findFirst().orElseThrow();
        assertEquals("/tmp/sample.fifo", reg.getReg().getName());
        assertEquals(O_RDWR, reg.getReg().getFlags());
        assertEquals(FifoCodec.S_IFIFO | 0640, reg.getReg().getMode());
        file_entry pipe = entries.stream().filter(e -> e.getId() == 11).findFirst().orElseThrow();
        assertEquals(fd_types.PIPE, pipe.getType());
        assertEquals(PIPE, pipe.getPipe().getPipeId());
        assertEquals(O_WRONLY | O_NONBLOCK, pipe.getPipe().getFlags());
        assertFalse(pipe.getPipe().hasLazymigExternal());
    }

    @Test
    void noPipesNoDataImages() throws IOException {
        Samples.writeSample(dir);
        assertFalse(Files.exists(dir.resolve("pipes-data.img")));
        assertFalse(Files.exists(dir.resolve("fifo-data.img")));
    }

    @Test
    void truncatedDataIsOneClearError() throws IOException {
        write(withPipes());
        Path f = dir.resolve("pipes-data.img");
        byte[] raw = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(raw, raw.length - 30));
        ImageException e = assertThrows(ImageException.class, this::read);
        assertTrue(e.getMessage().startsWith("pipes-data.img: "), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void moreBytesThanTheBufferHolds() throws IOException {
        write(withPipes());
        rewriteData(new ImageDir.PipeDataEntry(pipe_data_entry.newBuilder().setPipeId(PIPE).setBytes(8).setSize(4).build(),
                new byte[8]));
        assertEquals("pipes-data.img: pipe id 70001: 8 bytes in a pipe buffer of 4", assertThrows(ImageException.class,
                this::read).getMessage());
    }

    @Test
    void dataForAPipeNoFdHolds() throws IOException {
        write(withPipes());
        rewriteData(new ImageDir.PipeDataEntry(pipe_data_entry.newBuilder().setPipeId(1).setBytes(1).build(), new byte[1]));
        assertEquals("pipes-data.img: data for pipe id 1, which no fd holds", assertThrows(ImageException.class,
                this::read).getMessage());
    }

    @Test
    void aPipeListedTwice() throws IOException {
        write(withPipes());
        ImageDir.PipeDataEntry e = new ImageDir.PipeDataEntry(pipe_data_entry.newBuilder().setPipeId(PIPE).setBytes(1)
                .build(), new byte[1]);
        rewriteData(e, e);
        assertEquals("pipes-data.img: pipe id 70001 listed twice", assertThrows(ImageException.class, this::read)
                .getMessage());
    }

    @Test
    void externalWithData() throws IOException {
        write(withPipes());
        rewriteData(new ImageDir.PipeDataEntry(pipe_data_entry.newBuilder().setPipeId(OUTSIDE).setBytes(1).build(),
                new byte[1]));
        assertEquals("pipes-data.img: pipe:[70003] (write end, external) is external but has data",
                assertThrows(ImageException.class, this::read).getMessage());
    }

    @Test
    void aFifoWithoutItsPath() throws IOException {
        write(withPipes());
        ImageDir d = ImageDir.of(dir);
        List<file_entry> entries = new ArrayList<>();
        for (file_entry e : d.readFiles()) {
            entries.add(e.getType() == fd_types.FIFO ? e.toBuilder().setFifo(e.getFifo().toBuilder().setRegfId(999)).build()
                    : e);
        }
        d.writeFiles(entries);
        assertEquals("files.img: fd 1000 of fdinfo-2.img: FIFO file id 14: no REG entry 999 for its path",
                assertThrows(ImageException.class, this::read).getMessage());
    }

    @Test
    void modelChecks() {
        assertThrows(IllegalArgumentException.class, () -> new Pipe(1, 5, O_RDWR, false, PipeBuffer.NONE));
        assertThrows(IllegalArgumentException.class, () -> new Pipe(1, 5, 0, true, new PipeBuffer(0, new byte[1])));
        assertThrows(IllegalArgumentException.class, () -> new PipeBuffer(-1, new byte[0]));
        assertEquals(new PipeBuffer(8, new byte[] {1, 2}), new PipeBuffer(8, new byte[] {1, 2}));
    }

    private void rewriteData(ImageDir.PipeDataEntry... entries) throws IOException {
        ImageDir.of(dir).writePipeData(ImageType.PIPES_DATA, List.of(entries));
    }

    private static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }
}
