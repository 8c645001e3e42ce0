package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.fdinfo_entry;
import io.lazymig.images.proto.inventory_entry;
import io.lazymig.images.proto.mm_entry;
import io.lazymig.images.proto.pagemap_entry;
import io.lazymig.images.proto.pstree_entry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of bad input gives one ImageException whose message names the file and the fault. */
@Timeout(60)
class BadInputTest {
    static final int PID = Samples.PID;

    @TempDir
    Path dir;
    ImageDir images;

    @BeforeEach
    void writeSample() throws IOException {
        Samples.writeSample(dir);
        images = ImageDir.of(dir);
    }

    private String readFails() {
        return assertThrows(ImageException.class, () -> Checkpoint.read(dir, SyntheticCpu.AMD.layout(SyntheticCpu.AVX512))).getMessage();
    }

    private void assertFails(String file, String... parts) {
        String message = readFails();
        assertThat(message, startsWith(file + ": "));
        for (String part : parts) {
            assertThat(message, containsString(part));
        }
    }

    private byte[] bytes(String file) throws IOException {
        return Files.readAllBytes(dir.resolve(file));
    }

    private void put(String file, byte[] content) throws IOException {
        Files.write(dir.resolve(file), content);
    }

    private static byte[] u32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private void append(String file, byte[] extra) throws IOException {
        Files.write(dir.resolve(file), extra, StandardOpenOption.APPEND);
    }

    private void editMm(UnaryOperator<mm_entry.Builder> edit) throws IOException {
        images.writeMm(PID, edit.apply(images.readMm(PID).toBuilder()).build());
    }

    private void editPagemap(int index, UnaryOperator<pagemap_entry.Builder> edit) throws IOException {
        ImageDir.PagemapImage pm = images.readPagemap(PID);
        List<pagemap_entry> entries = new ArrayList<>(pm.entries());
        entries.set(index, edit.apply(entries.get(index).toBuilder()).build());
        images.writePagemap(PID, new ImageDir.PagemapImage(pm.head(), entries));
    }

    // ---- framing

    @Test
    void wrongMagic() throws Exception {
        byte[] mm = bytes("mm-4242.img");
        System.arraycopy(u32(Magic.PAGEMAP), 0, mm, 4, 4);
        put("mm-4242.img", mm);
        assertEquals("mm-4242.img: magic is 0x56084025 (PAGEMAP), expected 0x57492820 (MM)", readFails());
    }

    @Test
    void wrongCommonMagic() throws Exception {
        byte[] core = bytes("core-4242.img");
        core[0] ^= 1;
        put("core-4242.img", core);
        assertEquals("core-4242.img: common magic is 0x54564318, expected 0x54564319 (IMG_COMMON)", readFails());
    }

    @Test
    void inventoryWithCommonMagicIsRefusedAsCriuDoes() throws Exception {
        byte[] inv = bytes("inventory.img");
        byte[] withCommon = new byte[inv.length + 4];
        System.arraycopy(u32(Magic.IMG_COMMON), 0, withCommon, 0, 4);
        System.arraycopy(inv, 0, withCommon, 4, inv.length);
        put("inventory.img", withCommon);
        assertEquals("inventory.img: magic is 0x54564319 (IMG_COMMON), expected 0x58313116 (INVENTORY)", readFails());
    }

    @Test
    void emptyFile() throws Exception {
        put("pstree.img", new byte[0]);
        assertEquals("pstree.img: 0 bytes left, too short for its common magic 0x54564319 (IMG_COMMON)", readFails());
    }

    @Test
    void truncatedEntry() throws Exception {
        byte[] mm = bytes("mm-4242.img");
        int size = ByteBuffer.wrap(mm, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        put("mm-4242.img", java.util.Arrays.copyOf(mm, mm.length - 10));
        assertEquals("mm-4242.img: entry 1 length " + size + " but only " + (size - 10) + " bytes left (truncated)", readFails());
    }

    @Test
    void truncatedSizePrefix() throws Exception {
        append("fdinfo-2.img", new byte[] {5, 0});
        assertEquals("fdinfo-2.img: entry 5 truncated: 2 of the 4 size bytes", readFails());
    }

    @Test
    void lengthBeyondTheBound() throws Exception {
        append("fdinfo-2.img", u32(-1));
        assertEquals("fdinfo-2.img: entry 5 length 4294967295 beyond the 16 MiB bound", readFails());
        byte[] mm = bytes("mm-4242.img");
        System.arraycopy(u32(ImageReader.MAX_ENTRY_SIZE + 1), 0, mm, 8, 4);
        put("mm-4242.img", mm);
        put("fdinfo-2.img", java.util.Arrays.copyOf(bytes("fdinfo-2.img"), bytes("fdinfo-2.img").length - 4));
        assertFails("mm-4242.img", "entry 1 length 16777217 beyond the 16 MiB bound");
    }

    @Test
    void malformedProtobuf() throws Exception {
        byte[] fs = bytes("fs-4242.img");
        fs[12] = (byte) 0xff; // first tag byte: field 31, wire type 7 (invalid)
        put("fs-4242.img", fs);
        assertFails("fs-4242.img", "entry 1: malformed protobuf");
    }

    @Test
    void unknownEnumValue() throws Exception {
        // fdinfo_entry { id: 6, flags: 0, type: 99, fd: 7 }
        byte[] entry = {0x08, 0x06, 0x10, 0x00, 0x18, 0x63, 0x20, 0x07};
        ByteBuffer b = ByteBuffer.allocate(12 + entry.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Magic.IMG_COMMON).putInt(Magic.FDINFO).putInt(entry.length).put(entry);
        put("fdinfo-2.img", b.array());
        assertEquals("fdinfo-2.img: entry 1: fdinfo_entry.type holds 99, not a value of enum fd_types", readFails());
    }

    @Test
    void unknownEnumValueInsideANestedMessage() throws Exception {
        core_entry core = images.readCore(PID);
        byte[] regs = core.getThreadInfo().getGpregs().toByteArray();
        // gpregs.mode is field 28, varint: tag bytes 0xe0 0x01, value 1 (NATIVE) -> 7.
        int at = regs.length - 3;
        assertEquals((byte) 0xe0, regs[at]);
        regs[at + 2] = 7;
        byte[] entry = core.toBuilder().setThreadInfo(core.getThreadInfo().toBuilder()
                .setGpregs(io.lazymig.images.proto.user_x86_regs_entry.parser().parsePartialFrom(regs))).build().toByteArray();
        ByteBuffer b = ByteBuffer.allocate(12 + entry.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Magic.IMG_COMMON).putInt(Magic.CORE).putInt(entry.length).put(entry);
        put("core-4242.img", b.array());
        assertEquals("core-4242.img: entry 1: core_entry.thread_info.gpregs.mode holds 7, not a value of enum user_x86_regs_mode",
                readFails());
    }

    @Test
    void missingRequiredField() throws Exception {
        byte[] entry = {0x08, 0x01}; // fs_entry { cwd_id: 1 }, no root_id
        ByteBuffer b = ByteBuffer.allocate(12 + entry.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Magic.IMG_COMMON).putInt(Magic.FS).putInt(entry.length).put(entry);
        put("fs-4242.img", b.array());
        assertEquals("fs-4242.img: entry 1: fs_entry lacks required field(s) root_id", readFails());
    }

    @Test
    void missingFile() throws Exception {
        Files.delete(dir.resolve("fs-4242.img"));
        assertFails("fs-4242.img", "missing in " + dir.toAbsolutePath());
    }

    @Test
    void notARegularFile() throws Exception {
        Files.delete(dir.resolve("files.img"));
        Files.createDirectory(dir.resolve("files.img"));
        assertEquals("files.img: not a regular file", readFails());
    }

    @Test
    void fifoDoesNotHang() throws Exception {
        Files.delete(dir.resolve("files.img"));
        Process mkfifo = new ProcessBuilder("mkfifo", dir.resolve("files.img").toString()).inheritIO().start();
        try {
            assertTrue(mkfifo.waitFor(30, TimeUnit.SECONDS), "mkfifo did not finish within 30 s");
        } finally {
            mkfifo.destroyForcibly();
        }
        assertEquals(0, mkfifo.exitValue());
        assertEquals("files.img: not a regular file", readFails());
    }

    @Test
    void symbolicLinksAreRefused() throws Exception {
        Files.move(dir.resolve("fs-4242.img"), dir.resolve("elsewhere"));
        Files.createSymbolicLink(dir.resolve("fs-4242.img"), dir.resolve("elsewhere"));
        assertEquals("fs-4242.img: a symbolic link; images must be regular files in the image directory", readFails());
        Files.delete(dir.resolve("fs-4242.img"));
        Files.move(dir.resolve("elsewhere"), dir.resolve("fs-4242.img"));
        Files.move(dir.resolve("pages-1.img"), dir.resolve("elsewhere"));
        Files.createSymbolicLink(dir.resolve("pages-1.img"), dir.resolve("elsewhere"));
        assertEquals("pages-1.img: a symbolic link; images must be regular files in the image directory", readFails());
    }

    @Test
    void entryCountIsBounded() throws Exception {
        byte[] entry = io.lazymig.images.proto.fs_entry.newBuilder().setCwdId(1).setRootId(2).build().toByteArray();
        int n = ImageReader.MAX_ENTRIES + 1;
        ByteBuffer b = ByteBuffer.allocate(8 + n * (4 + entry.length)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Magic.IMG_COMMON).putInt(Magic.FS);
        for (int i = 0; i < n; i++) {
            b.putInt(entry.length).put(entry);
        }
        put("fs-7.img", b.array());
        ImageException e = assertThrows(ImageException.class,
                () -> images.readAll(ImageType.FS, 7, io.lazymig.images.proto.fs_entry.parser()));
        assertEquals("fs-7.img: more than 4194304 entries", e.getMessage());
    }

    @Test
    void fileSizeIsBounded() throws Exception {
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(dir.resolve("files.img"),
                StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.allocate(1), ImageReader.MAX_FILE_SIZE); // sparse: one byte past the bound
        }
        assertEquals("files.img: 67108865 bytes, beyond the 64 MiB bound for protobuf images", readFails());
    }

    @Test
    void singleEntryImageWithTwo() throws Exception {
        core_entry core = images.readCore(PID);
        images.writeAll(ImageType.CORE, PID, List.of(core, core));
        assertEquals("core-4242.img: more than one entry, expected exactly one", readFails());
    }

    // ---- meaning

    @Test
    void pagesFileLargerThanThePagemapSays() throws Exception {
        append("pages-1.img", new byte[4096]);
        assertEquals("pages-1.img: 57344 bytes, but pagemap-4242.img needs 53248 (13 PE_PRESENT pages)", readFails());
    }

    @Test
    void pagesFileTruncated() throws Exception {
        byte[] pages = bytes("pages-1.img");
        put("pages-1.img", java.util.Arrays.copyOf(pages, pages.length - 100));
        assertFails("pages-1.img", "53148 bytes, but pagemap-4242.img needs 53248");
    }

    @Test
    void pagesFileMissing() throws Exception {
        Files.delete(dir.resolve("pages-1.img"));
        assertFails("pages-1.img", "missing");
    }

    @Test
    void overlappingVmas() throws Exception {
        editMm(m -> m.setVmas(3, m.getVmas(3).toBuilder().setEnd(0x7ffff7d01000L)));
        assertFails("mm-4242.img", "overlaps", "vma 0x7ffff7d00000-0x7ffff7e00000");
    }

    @Test
    void unalignedVma() throws Exception {
        editMm(m -> m.setVmas(3, m.getVmas(3).toBuilder().setEnd(0x55555557a001L)));
        assertEquals("mm-4242.img: vma 0x555555559000-0x55555557a001 is not page-aligned", readFails());
    }

    @Test
    void unsortedVmas() throws Exception {
        editMm(m -> {
            vma_swap(m, 4, 5);
            return m;
        });
        assertFails("mm-4242.img", "precedes");
    }

    private static void vma_swap(mm_entry.Builder m, int i, int j) {
        io.lazymig.images.proto.vma_entry a = m.getVmas(i);
        m.setVmas(i, m.getVmas(j));
        m.setVmas(j, a);
    }

    @Test
    void unsupportedVmaKind() throws Exception {
        editMm(m -> m.setVmas(4, m.getVmas(4).toBuilder()
                .setStatus(Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_SHARED | Vma.VMA_AREA_SYSVIPC)
                .setFlags(Vma.MAP_SHARED | Vma.MAP_ANONYMOUS)));
        assertEquals("mm-4242.img: vma 0x7ffff7d00000-0x7ffff7e00000: VMA_AREA_SYSVIPC is not supported", readFails());
    }

    @Test
    void sharedMemoryWithoutShmid() throws Exception {
        editMm(m -> m.setVmas(4, m.getVmas(4).toBuilder().setStatus(Vma.VMA_AREA_REGULAR | Vma.VMA_ANON_SHARED)
                .setFlags(Vma.MAP_SHARED | Vma.MAP_ANONYMOUS)));
        assertEquals("mm-4242.img: vma 0x7ffff7d00000-0x7ffff7e00000: shared memory needs a shmid", readFails());
    }

    @Test
    void unknownVmaStatusBit() throws Exception {
        editMm(m -> m.setVmas(4, m.getVmas(4).toBuilder().setStatus(0x201 | 1 << 20)));
        assertEquals("mm-4242.img: vma 0x7ffff7d00000-0x7ffff7e00000: unknown status bits 0x100000", readFails());
    }

    @Test
    void vmaNamesAMissingFile() throws Exception {
        editMm(m -> m.setVmas(0, m.getVmas(0).toBuilder().setShmid(77)));
        assertEquals("mm-4242.img: no file id 77 for mapped by vma 0x555555554000", readFails());
    }

    @Test
    void exeIdIsNotARegularFile() throws Exception {
        editMm(m -> m.setExeFileId(999));
        assertEquals("mm-4242.img: no file id 999 for the executable (exe_file_id)", readFails());
    }

    @Test
    void overlappingIovs() throws Exception {
        editPagemap(2, e -> e.setVaddr(0x55555555a000L));
        assertFails("pagemap-4242.img", "overlaps or precedes");
    }

    @Test
    void unalignedIov() throws Exception {
        editPagemap(1, e -> e.setVaddr(0x555555559800L));
        assertEquals("pagemap-4242.img: vaddr 0x555555559800 is not page-aligned", readFails());
    }

    @Test
    void iovOutsideEveryVma() throws Exception {
        editPagemap(0, e -> e.setVaddr(0x555555558000L));
        assertEquals("pagemap-4242.img: iov 0x555555558000+1p PE_PRESENT @0: page 0x555555558000 is in no VMA", readFails());
    }

    @Test
    void iovRunningPastItsVma() throws Exception {
        editPagemap(1, e -> e.setNrPages(0x22).setCompatNrPages(0x22));
        assertFails("pagemap-4242.img", "page 0x55555557a000 is in no VMA");
    }

    @Test
    void lazyIovInAFileMapping() throws Exception {
        editPagemap(0, e -> e.setFlags(PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT));
        assertFails("pagemap-4242.img", "is PE_LAZY inside vma 0x555555557000-0x555555558000", "cannot be lazy");
    }

    @Test
    void unknownIovFlag() throws Exception {
        editPagemap(0, e -> e.setFlags(8));
        assertEquals("pagemap-4242.img: iov at 0x555555557000: bad flags 0x8 (known: PE_PARENT 1, PE_LAZY 2, PE_PRESENT 4, PE_COW 0x10000)",
                readFails());
    }

    @Test
    void zeroPageCount() throws Exception {
        editPagemap(0, e -> e.clearNrPages().setCompatNrPages(0));
        assertEquals("pagemap-4242.img: iov at 0x555555557000: bad page count 0", readFails());
    }

    @Test
    void hugePageCountDoesNotOverflow() throws Exception {
        editPagemap(6, e -> e.setNrPages(-1L));
        assertFails("pagemap-4242.img", "bad page count 18446744073709551615");
        editPagemap(6, e -> e.setNrPages(1L << 40));
        assertFails("pagemap-4242.img", "page 0x7ffffffff000 is in no VMA");
        editPagemap(6, e -> e.setVaddr(0xffffffffffff0000L).setNrPages(0x100));
        assertEquals("pagemap-4242.img: iov at 0xffffffffffff0000 with 256 pages runs past the end of the address space",
                readFails());
    }

    @Test
    void packetSocketFd() throws Exception {
        List<fdinfo_entry> fds = new ArrayList<>(images.readFdinfo(2));
        fds.set(3, fds.get(3).toBuilder().setType(fd_types.PACKETSK).build());
        images.writeFdinfo(2, fds);
        assertEquals("fdinfo-2.img: fd 3 is of type PACKETSK; " + FileCodecs.SUPPORTED, readFails());
    }

    @Test
    void pipeFdPointingAtARegularFile() throws Exception {
        List<fdinfo_entry> fds = new ArrayList<>(images.readFdinfo(2));
        fds.set(3, fds.get(3).toBuilder().setType(fd_types.PIPE).build());
        images.writeFdinfo(2, fds);
        assertEquals("fdinfo-2.img: fd 3 is of type PIPE but its file id 3 is of type REG", readFails());
    }

    @Test
    void duplicateFd() throws Exception {
        List<fdinfo_entry> fds = new ArrayList<>(images.readFdinfo(2));
        fds.set(3, fds.get(3).toBuilder().setFd(2).build());
        images.writeFdinfo(2, fds);
        assertEquals("fdinfo-2.img: fd 2 listed twice", readFails());
    }

    @Test
    void oldImageVersion() throws Exception {
        images.writeInventory(images.readInventory().toBuilder().setImgVersion(1).build());
        assertEquals("inventory.img: img_version 1, only 2 is supported", readFails());
    }

    @Test
    void childOfNoProcessOfTheTree() throws Exception {
        pstree_entry p = images.readPstree().get(0);
        images.writePstree(List.of(p, p.toBuilder().setPid(4243).setPpid(4000).build()));
        assertEquals("pstree.img: process 4243 has ppid 4000, which is not a live process listed before it", readFails());
    }

    @Test
    void childWithoutItsCore() throws Exception {
        pstree_entry p = images.readPstree().get(0);
        images.writePstree(List.of(p, p.toBuilder().setPid(4243).setPpid(p.getPid()).clearThreads().addThreads(4243)
                .build()));
        assertThat(readFails(), startsWith("core-4243.img: missing"));
    }

    @Test
    void threadWithoutItsCore() throws Exception {
        pstree_entry p = images.readPstree().get(0);
        images.writePstree(List.of(p.toBuilder().addThreads(4243).build()));
        assertThat(readFails(), startsWith("core-4243.img: missing in "));
    }

    @Test
    void threadsNotLeaderFirst() throws Exception {
        pstree_entry p = images.readPstree().get(0);
        images.writePstree(List.of(p.toBuilder().clearThreads().addThreads(4243).addThreads(4242).build()));
        assertEquals("pstree.img: pid 4242 has threads [4243, 4242]; the first must be the leader, 4242", readFails());
    }

    @Test
    void threadListedTwice() throws Exception {
        pstree_entry p = images.readPstree().get(0);
        images.writePstree(List.of(p.toBuilder().addThreads(4242).build()));
        assertEquals("pstree.img: pid 4242 has threads [4242, 4242]; thread 4242 is not a new positive tid", readFails());
    }

    @Test
    void threadCoreWithoutThreadInfo() throws Exception {
        pstree_entry p = images.readPstree().get(0);
        images.writePstree(List.of(p.toBuilder().addThreads(4243).build()));
        images.writeCore(4243, images.readCore(4242).toBuilder().clearTc().clearThreadInfo().build());
        assertEquals("core-4243.img: needs thread_info and thread_core", readFails());
    }

    @Test
    void otherArchitecture() throws Exception {
        images.writeCore(PID, images.readCore(PID).toBuilder().setMtype(core_entry.march.AARCH64).build());
        assertEquals("core-4242.img: architecture AARCH64, only X86_64 is supported", readFails());
    }

    @Test
    void tooManySignalActions() throws Exception {
        core_entry core = images.readCore(PID);
        images.writeCore(PID, core.toBuilder().setTc(core.getTc().toBuilder().addSigactions(core.getTc().getSigactions(0))).build());
        assertEquals("core-4242.img: 63 signal actions, at most 62 (signals 1..64 but SIGKILL, SIGSTOP)", readFails());
    }

    @Test
    void xstateTooLarge() throws Exception {
        core_entry core = images.readCore(PID);
        images.writeCore(PID, core.toBuilder().setThreadInfo(core.getThreadInfo().toBuilder().setFpregs(
                core.getThreadInfo().getFpregs().toBuilder().setLazymigXsaveArea(
                        com.google.protobuf.ByteString.copyFrom(new byte[Registers.MAX_XSTATE + 64])))).build());
        assertEquals("core-4242.img: xstate area of 65600 bytes: expected 512, or 576..65536", readFails());
    }

    @Test
    void inventoryWithUnknownLsm() throws Exception {
        byte[] entry = inventory_entry.newBuilder().setImgVersion(2).build().toByteArray();
        byte[] withLsm = java.util.Arrays.copyOf(entry, entry.length + 2);
        withLsm[entry.length] = 0x30; // field 6 varint
        withLsm[entry.length + 1] = 9;
        ByteBuffer b = ByteBuffer.allocate(8 + withLsm.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Magic.INVENTORY).putInt(withLsm.length).put(withLsm);
        put("inventory.img", b.array());
        assertEquals("inventory.img: entry 1: inventory_entry.lsmtype holds 9, not a value of enum lsmtype", readFails());
    }

    @Test
    void writingWithoutPagesFails() throws Exception {
        Path other = dir.resolve("sub");
        Files.createDirectory(other);
        ImageException e = assertThrows(ImageException.class, () -> Samples.checkpoint().write(other));
        assertEquals("pages-1.img: missing; write the 53248 bytes of PE_PRESENT pages first (ImageDir.createPages)", e.getMessage());
        append("pages-1.img", new byte[4096]);
        e = assertThrows(ImageException.class, () -> Samples.checkpoint().write(dir));
        assertEquals("pages-1.img: 57344 bytes, but the pagemap's PE_PRESENT iovs need 53248", e.getMessage());
    }

    @Test
    void positionedReadPastTheEnd() throws Exception {
        try (PagesFile pages = images.openPages(1)) {
            ImageException e = assertThrows(ImageException.class, () -> pages.read(53248 - 10, ByteBuffer.allocate(20)));
            assertEquals("pages-1.img: ends at 53248, 10 bytes short of the range at 53238", e.getMessage());
        }
    }
}
