package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.memfd_inode_entry;
import io.lazymig.images.proto.vma_entry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared memory in CRIU's images: a parent and a child mapping one MAP_SHARED anonymous object and
 * one memfd (the parent also holding the memfd open), each object written once
 * (pagemap-shmem-SHMID.img, memfd.img) and read back equal; the vma_entry and file_entry fields as
 * CRIU writes them; and what is refused.
 */
class ShmemImagesTest {
    static final long ANON = 501;
    static final long MEMFD = 502;
    static final int SEAL_SEAL = 1;
    static final int SEAL_GROW = 4;

    @TempDir
    Path dir;

    static List<Vma> withShmem(List<Vma> base, long anonPgoff) {
        List<Vma> vmas = new ArrayList<>();
        for (Vma v : base) {
            vmas.add(v);
            if (v.start() == 0x7ffff7e28000L) {
                vmas.add(new Vma(0x7ffff7e30000L, 0x7ffff7e34000L, Vma.PROT_READ | Vma.PROT_WRITE,
                        Vma.MAP_SHARED | Vma.MAP_ANONYMOUS, Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_SHARED, anonPgoff, null,
                        0, ANON));
                vmas.add(new Vma(0x7ffff7e40000L, 0x7ffff7e42000L, Vma.PROT_READ, Vma.MAP_SHARED,
                        Vma.VMA_AREA_REGULAR | Vma.VMA_FILE_SHARED | Vma.VMA_AREA_MEMFD, 0, null, 0, MEMFD));
            }
        }
        return vmas;
    }

    static Checkpoint tree() {
        ProcessImage r = Samples.process(List.of(Samples.leader()));
        List<FdSlot> fds = new ArrayList<>(r.fds());
        fds.add(new FdSlot(4, false, 5));
        ProcessImage root = new ProcessImage(r.state(), r.threads(), withShmem(r.vmas(), 0), r.pagemap(), fds);
        ProcessImage c = TreeTest.child();
        ProcessImage child = new ProcessImage(c.state(), c.threads(), withShmem(c.vmas(), 0x1000), c.pagemap(), c.fds());
        List<FileObject> files = new ArrayList<>(Samples.files());
        files.add(new RegularFile(4, "/tmp/child.out", Samples.O_WRONLY, 77));
        files.add(new Memfd(5, Samples.O_RDWR, 4096, MEMFD));
        Shmem anon = new Shmem(ANON, 5 * 4096, null, 0, 0, 0,
                Pagemap.builder(3).add(0, 2, PagemapIov.PE_PRESENT).add(4 * 4096, 1, PagemapIov.PE_PRESENT).build());
        Shmem memfd = new Shmem(MEMFD, 2 * 4096, "app-cache", 1000, 1000, SEAL_SEAL | SEAL_GROW,
                Pagemap.builder(4).add(4096, 1, PagemapIov.PE_PRESENT).build());
        return new Checkpoint(List.of(root, child), files, List.of(), List.of(), List.of(), List.of(anon, memfd));
    }

    private Checkpoint written() throws Exception {
        Checkpoint c = tree();
        for (ProcessImage p : c.processes()) {
            Samples.writePages(dir, p.pagemap());
        }
        for (Shmem m : c.shmems()) {
            Samples.writePages(dir, m.pagemap());
        }
        c.write(dir);
        return c;
    }

    @Test
    void sharedMemoryComesBackOnceForTheTree() throws Exception {
        Checkpoint c = written();
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(c, read);
        assertEquals(2, read.shmems().size());
        assertEquals(5 * 4096, read.shmem(ANON).size(), "an anonymous object's size: its furthest VMA or page");
        assertTrue(Files.exists(dir.resolve("pagemap-shmem-501.img")));
        assertTrue(Files.exists(dir.resolve("pagemap-shmem-502.img")));
    }

    @Test
    void vmasAndFilesAreCriusShape() throws Exception {
        written();
        ImageDir d = ImageDir.of(dir);
        List<vma_entry> vmas = d.readMm(Samples.PID).getVmasList();
        vma_entry anon = vmas.stream().filter(v -> v.getStart() == 0x7ffff7e30000L).findFirst().orElseThrow();
        assertEquals(ANON, anon.getShmid(), "shared anonymous memory: the shmid itself");
        assertEquals(Vma.MAP_SHARED | Vma.MAP_ANONYMOUS, anon.getFlags());
        assertFalse(anon.hasFdflags());
        vma_entry memfd = vmas.stream().filter(v -> v.getStart() == 0x7ffff7e40000L).findFirst().orElseThrow();
        file_entry byMapping = d.readFiles().stream().filter(f -> f.getId() == memfd.getShmid()).findFirst().orElseThrow();
        assertEquals(fd_types.MEMFD, byMapping.getType(), "a memfd mapping's shmid is a MEMFD file id, as in CRIU");
        assertEquals(MEMFD, Integer.toUnsignedLong(byMapping.getMemfd().getInodeId()));
        List<memfd_inode_entry> inodes = d.readAll(ImageType.MEMFD_INODE, 0, memfd_inode_entry.parser());
        assertEquals(1, inodes.size());
        assertEquals("app-cache", inodes.get(0).getName());
        assertEquals(SEAL_SEAL | SEAL_GROW, inodes.get(0).getSeals());
        assertEquals(2 * 4096, inodes.get(0).getSize());
        assertEquals(1000, inodes.get(0).getUid());
        assertEquals(4, d.readShmemPagemap((int) MEMFD).head().getPagesId());
    }

    /** crit (Debian's criu package, CRIU's own decoder) reads the shared memory images as CRIU's. */
    @Test
    void critDecodesThem() throws Exception {
        written();
        String memfd = Crit.decode(dir, "memfd.img");
        assertThat(memfd, containsString("\"magic\": \"MEMFD_INODE\""));
        assertThat(memfd, containsString("\"name\": \"app-cache\""));
        assertThat(memfd, containsString("F_SEAL_SEAL"));
        assertThat(Crit.decode(dir, "pagemap-shmem-501.img"), containsString("\"pages_id\": 3"));
        String mm = Crit.decode(dir, "mm-" + Samples.PID + ".img");
        assertThat(mm, containsString("VMA_ANON_SHARED"));
        // Debian's crit 3.17 has no name for VMA_AREA_MEMFD (1 << 14) and prints the bit
        assertThat(mm, containsString("\"status\": \"VMA_AREA_REGULAR | VMA_FILE_SHARED | 0x4000\""));
        assertThat(Crit.decode(dir, "files.img"), containsString("\"type\": \"MEMFD\""));
    }


    @Test
    void aMemfdKeepsItsExactSizeAndMayBeEmpty() throws Exception {
        Checkpoint c = tree();
        List<FileObject> files = new ArrayList<>(c.files());
        files.add(new Memfd(6, Samples.O_RDWR, 0, 503));
        files.add(new Memfd(7, Samples.O_RDWR, 0, 504));
        List<FdSlot> fds = new ArrayList<>(c.root().fds());
        fds.add(new FdSlot(5, false, 6));
        fds.add(new FdSlot(6, true, 7));
        ProcessImage r = c.root();
        List<ProcessImage> ps = List.of(new ProcessImage(r.state(), r.threads(), r.vmas(), r.pagemap(), fds),
                c.processes().get(1));
        List<Shmem> shmems = new ArrayList<>(c.shmems());
        shmems.add(new Shmem(503, 5000, "odd", 0, 0, 0xf, Pagemap.builder(5).add(4096, 1, PagemapIov.PE_PRESENT).build()));
        shmems.add(new Shmem(504, 0, "empty", 0, 0, 0, Pagemap.builder(6).build()));
        Checkpoint odd = new Checkpoint(ps, files, List.of(), List.of(), List.of(), shmems);
        for (ProcessImage p : odd.processes()) {
            Samples.writePages(dir, p.pagemap());
        }
        for (Shmem m : odd.shmems()) {
            Samples.writePages(dir, m.pagemap());
        }
        odd.write(dir);
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(odd, read);
        assertEquals(5000, read.shmem(503).size());
        assertEquals(0, read.shmem(504).size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Shmem(505, 5000, "odd",
                0, 0, 0, Pagemap.builder(5).add(8192, 1, PagemapIov.PE_PRESENT).build()));
        assertThat(e.getMessage(), containsString("beyond its size 5000"));
        e = assertThrows(IllegalArgumentException.class, () -> new Shmem(506, 5000, null, 0, 0, 0, Pagemap.builder(5)
                .build()));
        assertThat(e.getMessage(), containsString("not a positive number of pages"));
    }

    /** CRIU numbers memfd.img's inode_id from 1, the shmid apart; MEMFD file entries name that number. */
    @Test
    void criusMemfdInodeIdsAreReadThroughTheirShmid() throws Exception {
        Checkpoint c = written();
        ImageDir d = ImageDir.of(dir);
        List<memfd_inode_entry> inodes = new ArrayList<>();
        for (memfd_inode_entry e : d.readAll(ImageType.MEMFD_INODE, 0, memfd_inode_entry.parser())) {
            inodes.add(e.toBuilder().setInodeId(1).build());
        }
        d.writeAll(ImageType.MEMFD_INODE, 0, inodes);
        List<file_entry> files = new ArrayList<>();
        for (file_entry f : d.readFiles()) {
            files.add(f.hasMemfd() ? f.toBuilder().setMemfd(f.getMemfd().toBuilder().setInodeId(1)).build() : f);
        }
        d.writeFiles(files);
        assertEquals(c, Checkpoint.read(dir), "the memfd object still has its shmid, 502");
        files.set(files.size() - 1, files.get(files.size() - 1).toBuilder()
                .setMemfd(files.get(files.size() - 1).getMemfd().toBuilder().setInodeId(9)).build());
        d.writeFiles(files);
        ImageException e = assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), containsString("opens memfd inode 9, which memfd.img does not list"));
    }

    @Test
    void memfdFileRoundTrip() {
        Memfd f = new Memfd(9, 02 | 04000, 8192, MEMFD);
        file_entry e = FileCodecs.encode(f);
        assertEquals(fd_types.MEMFD, e.getType());
        assertEquals(8192, e.getMemfd().getPos());
        assertEquals(f, FileCodecs.decode(e));
    }

    @Test
    void aMissingShmemPagemapIsNamed() throws Exception {
        written();
        Files.delete(dir.resolve("pagemap-shmem-501.img"));
        ImageException e = assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), containsString("pagemap-shmem-501.img"));
    }

    @Test
    void aShortShmemPagesFileIsNamed() throws Exception {
        written();
        Path pages = dir.resolve("pages-3.img");
        Files.write(pages, java.util.Arrays.copyOf(Files.readAllBytes(pages), 4096));
        ImageException e = assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), containsString("pages-3.img"));
    }

    @Test
    void aVmaOfAnUnknownObjectIsRefused() {
        Checkpoint c = tree();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Checkpoint(c.processes(),
                c.files(), List.of(), List.of(), List.of(), List.of(c.shmem(MEMFD))));
        assertThat(e.getMessage(), containsString("maps no shared anonymous memory of the checkpoint"));
    }

    @Test
    void sharedMemoryPagesAreNeverLazyNorAProcesssOwn() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Shmem(ANON, 4096, null, 0,
                0, 0, Pagemap.builder(3).add(0, 1, PagemapIov.PE_PRESENT | PagemapIov.PE_LAZY).build()));
        assertThat(e.getMessage(), containsString("restored eagerly"));
        ProcessImage root = tree().root();
        Pagemap inShared = Pagemap.builder(1).add(0x7ffff7e30000L, 1, PagemapIov.PE_PRESENT).build();
        e = assertThrows(IllegalArgumentException.class, () -> new ProcessImage(root.state(), root.threads(),
                root.vmas(), inShared, root.fds()));
        assertThat(e.getMessage(), containsString("pagemap-shmem"));
    }
}
