package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.mm_entry;
import io.lazymig.images.proto.vma_entry;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void writeThenReadGivesTheSameCheckpoint() throws Exception {
        Checkpoint written = Samples.writeSample(dir);
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(written.root().state(), read.root().state());
        assertEquals(written.root().threads(), read.root().threads());
        assertEquals(written.vmas(), read.vmas());
        assertEquals(written.pagemap(), read.pagemap());
        assertEquals(written.root().fds(), read.root().fds());
        assertEquals(written.files(), read.files());
        assertEquals(written, read);
    }

    @Test
    void fdsSharingAnOpenFileShareOneFilesEntry() throws Exception {
        List<FdSlot> fds = new ArrayList<>(Samples.fds());
        fds.add(new FdSlot(4, false, 3));
        ProcessImage p = new ProcessImage(Samples.state(), List.of(Samples.leader()), Samples.vmas(), Samples.pagemap(), fds);
        Checkpoint c = Checkpoint.of(p, Samples.files());
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(c, read);
        var fdinfo = ImageDir.of(dir).readFdinfo(2);
        assertEquals(fdinfo.get(3).getId(), fdinfo.get(4).getId(), "one files.img entry, as CRIU writes a dup");
        assertEquals(fdinfo.get(1).getId(), fdinfo.get(2).getId(), "stdout and stderr: one terminal description");
        assertEquals(3 + 5, ImageDir.of(dir).readFiles().size(), "three open files, then exe, cwd, root, libc, shared.dat");
    }

    /** Small files that travel and flock locks (one through fd 3, one through the shared mapping). */
    @Test
    void carriedFilesAndFlocksComeBack() throws Exception {
        List<CarriedFile> carried = List.of(new CarriedFile("/tmp/shared.dat", 0600, 0, 0, new byte[] {1, 2, 3}),
                new CarriedFile("/tmp/empty", 0644, 1000, 1000, new byte[0]));
        List<FileLock> locks = List.of(new FileLock(Samples.PID, "/tmp/sample.log", false, 3),
                new FileLock(Samples.PID, "/tmp/shared.dat", true, FileLock.VIA_MAPPING));
        Checkpoint c = Checkpoint.of(Samples.process(List.of(Samples.leader())), Samples.files(), carried, locks);
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(c, read);
        assertEquals(carried, read.carried());
        assertEquals(locks, read.locks());
        assertTrue(read.mappingLock("/tmp/shared.dat").isPresent());
        assertTrue(read.fdLock(Samples.PID, 3).isPresent());
        assertFalse(read.fdLock(Samples.PID, 0).isPresent());

        Checkpoint.of(Samples.process(List.of(Samples.leader())), Samples.files()).write(dir);
        assertFalse(Files.exists(dir.resolve("carried-files.img")), "a rewrite without them leaves none behind");
        assertFalse(Files.exists(dir.resolve("flocks.img")));
        assertEquals(List.of(), Checkpoint.read(dir).carried());
    }

    @Test
    void aFlockOnAFileNotMappedIsRefused() throws Exception {
        Checkpoint c = Checkpoint.of(Samples.process(List.of(Samples.leader())), Samples.files(), List.of(),
                List.of(new FileLock(Samples.PID, "/tmp/nowhere", true, FileLock.VIA_MAPPING)));
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        ImageException e = org.junit.jupiter.api.Assertions.assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), is("flocks.img: exclusive flock on /tmp/nowhere (through its mapping): /tmp/nowhere is not mapped"));
    }

    @Test
    void everyThreadHasItsCoreAndThePstreeListsThemLeaderFirst() throws Exception {
        Checkpoint c = Checkpoint.of(Samples.process(List.of(Samples.leader(), Samples.worker())), Samples.files());
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        assertEquals(List.of(Samples.PID, Samples.PID + 1), ImageDir.of(dir).readPstree().get(0).getThreadsList());
        var leader = ImageDir.of(dir).readCore(Samples.PID);
        var worker = ImageDir.of(dir).readCore(Samples.PID + 1);
        assertTrue(leader.hasTc(), "the leader's core holds the process-wide part");
        assertFalse(worker.hasTc(), "a thread's core does not (CRIU reads tc from the leader's)");
        assertEquals("worker", worker.getThreadCore().getComm());
        assertEquals(1L << (10 - 1), worker.getThreadCore().getBlkSigset());
        assertEquals(0x7ffff757da10L, worker.getThreadInfo().getClearTidAddr());
        assertEquals(15, worker.getThreadCore().getPdeathSig(), "thread_core_entry.pdeath_sig, when set");
        assertFalse(leader.getThreadCore().hasPdeathSig(), "absent when none, as CRIU writes it");
        assertEquals(c, Checkpoint.read(dir));
    }

    @Test
    void writesExactlyTheImagesCriuNames() throws Exception {
        Samples.writeSample(dir);
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).collect(Collectors.toList());
            assertThat(names, containsInAnyOrder("inventory.img", "pstree.img", "core-4242.img", "ids-4242.img",
                    "mm-4242.img", "pagemap-4242.img", "pages-1.img", "files.img", "fdinfo-2.img", "fs-4242.img"));
        }
    }

    @Test
    void pagesAreInPagemapOrderAtTheIovOffsets() throws Exception {
        Checkpoint c = Samples.writeSample(dir);
        assertEquals(13L * 4096, c.pagemap().presentBytes());
        assertEquals(13L * 4096, Files.size(dir.resolve("pages-1.img")));
        try (PagesFile pages = ImageDir.of(dir).openPages(1)) {
            for (PagemapIov iov : c.pagemap().iovs()) {
                if (!iov.isPresent()) {
                    continue;
                }
                long last = iov.end() - 4096;
                ByteBuffer page = ByteBuffer.allocate(4096);
                pages.read(iov.fileOffset(last), page);
                assertArrayEquals(Samples.page(last), page.array(), iov.toString());
            }
        }
    }

    @Test
    void pagemapFindsIovsAndOffsets() {
        Pagemap pm = Samples.pagemap();
        PagemapIov heap = pm.find(0x55555555a123L).orElseThrow();
        assertEquals(0x555555559000L, heap.vaddr());
        assertEquals(4096 + 0x1123, heap.fileOffset(0x55555555a123L));
        PagemapIov lazyOnly = pm.find(0x7ffff7d00000L).orElseThrow();
        assertFalse(lazyOnly.isPresent());
        assertEquals(-1, lazyOnly.pagesOffset());
        assertTrue(pm.find(0x555555558000L).isEmpty());
        assertTrue(pm.find(0).isEmpty());
        assertEquals(29, pm.pages());
        assertEquals(25, pm.lazyPages());
    }

    @Test
    void lazinessFollowsCriuRules() {
        List<Vma> vmas = Samples.vmas();
        List<Boolean> lazy = new ArrayList<>();
        for (Vma v : vmas) {
            lazy.add(v.canBeLazy());
        }
        // exe r, exe rx, exe rw, heap, anon, libc, shared file, vvar, vvar_vclock, vdso, stack, vsyscall
        assertThat(lazy, contains(false, false, false, true, true, false, false, false, false, false, true, false));
    }

    @Test
    void imagesHoldCriuFieldsAsCriuWritesThem() throws Exception {
        Checkpoint c = Samples.writeSample(dir);
        ImageDir d = ImageDir.of(dir);
        mm_entry mm = d.readMm(Samples.PID);
        assertEquals(12, mm.getVmasCount());
        vma_entry vdso = mm.getVmas(9);
        assertEquals(0x209, vdso.getStatus());
        assertEquals(0x22, vdso.getFlags());
        assertEquals(-1, vdso.getFd());
        assertEquals(0x1201, mm.getVmas(7).getStatus());
        assertEquals(1L << 16, mm.getVmas(7).getMadv());
        assertEquals(0x221, mm.getVmas(3).getStatus());
        assertEquals(0x204, mm.getVmas(11).getStatus());
        assertEquals(0x122, mm.getVmas(10).getFlags());
        assertEquals(0x41, mm.getVmas(0).getStatus());
        assertEquals(0x81, mm.getVmas(6).getStatus());
        assertEquals(2, mm.getVmas(6).getFdflags(), "writable shared file mapping opens O_RDWR");
        // The exe is one files.img entry shared by mm.exe_file_id and its three mappings.
        assertEquals(mm.getExeFileId(), mm.getVmas(0).getShmid());
        assertEquals(mm.getExeFileId(), mm.getVmas(2).getShmid());
        List<file_entry> files = d.readFiles();
        for (file_entry f : files) {
            assertEquals(fd_types.REG, f.getType());
            assertEquals(f.getId(), f.getReg().getId());
        }
        file_entry devNull = files.stream().filter(f -> f.getReg().getName().equals("/dev/null")).findFirst().orElseThrow();
        assertEquals(020666, devNull.getReg().getMode());
        assertEquals(8, files.size(), "one per open file (stdout and stderr share one), then exe, cwd, root, libc, shared.dat: "
                + files.stream().map(f -> f.getReg().getName()).collect(Collectors.toList()));
    }

    @Test
    void coreHoldsCriuShapes() throws Exception {
        Samples.writeSample(dir);
        core_entry core = ImageDir.of(dir).readCore(Samples.PID);
        assertEquals(core_entry.march.X86_64, core.getMtype());
        assertEquals(62, core.getTc().getSigactionsCount());
        assertEquals(0x555555555200L, core.getTc().getSigactions(8).getSigaction(), "index 8 is SIGUSR1 (9 skipped)");
        assertEquals(0x555555555300L, core.getTc().getSigactions(61).getSigaction(), "last is signal 64");
        assertEquals(16, core.getTc().getRlimits().getRlimitsCount());
        assertEquals(32, core.getThreadInfo().getFpregs().getStSpaceCount());
        assertEquals(64, core.getThreadInfo().getFpregs().getXmmSpaceCount());
        assertEquals(64, core.getThreadInfo().getFpregs().getXsave().getYmmhSpaceCount());
        assertEquals(8, core.getThreadInfo().getFpregs().getXsave().getOpmaskRegCount());
        assertEquals(64, core.getThreadInfo().getFpregs().getXsave().getZmmUpperCount());
        assertEquals(128, core.getThreadInfo().getFpregs().getXsave().getHi16ZmmCount());
        assertEquals(0, core.getThreadInfo().getFpregs().getXsave().getPkruCount());
        assertEquals(3, core.getThreadInfo().getTlsCount());
        assertThat(core.getThreadCore().getRseqEntry().getSignature(), is(equalTo(0x53053053)));
        assertEquals(24, core.getThreadCore().getFutexRlaLen());
        assertEquals(0x7ffff7a00000L, core.getThreadCore().getSas().getSsSp());
        assertEquals(65536, core.getThreadCore().getSas().getSsSize());
        assertEquals(SigAltStack.SS_AUTODISARM, core.getThreadCore().getSas().getSsFlags());
        assertEquals(5, core.getThreadCore().getSchedNice());
        assertEquals(Sched.SCHED_OTHER, core.getThreadCore().getSchedPolicy());
        assertFalse(core.getThreadCore().hasSchedPrio(), "as CRIU: a priority only for SCHED_FIFO and SCHED_RR");
        assertEquals(1, core.getThreadCore().getSignalsP().getSignalsCount());
        assertEquals(SigInfo.SIZE, core.getThreadCore().getSignalsP().getSignals(0).getSiginfo().size());
        assertEquals(2, core.getTc().getSignalsS().getSignalsCount(), "the shared queue is in tc");
    }

    @Test
    void perThreadSignalStateRoundTrips() throws Exception {
        Checkpoint c = Checkpoint.of(Samples.process(List.of(Samples.leader(), Samples.worker())), Samples.files());
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        Checkpoint read = Checkpoint.read(dir);
        ThreadState worker = read.root().threads().get(1);
        assertEquals(new SigAltStack(0x7ffff7900000L, 16384, SigAltStack.SS_ONSTACK), worker.altStack());
        assertEquals(new Sched(Sched.SCHED_IDLE, 0, 3), worker.sched());
        assertEquals(List.of(7L, 8L), worker.pending().stream().map(SigInfo::value).collect(Collectors.toList()),
                "queue order kept");
        assertEquals(List.of(15, 40), read.root().state().sharedPending().stream().map(SigInfo::signo)
                .collect(Collectors.toList()));
        assertEquals(SigInfo.SI_USER, read.root().state().sharedPending().get(0).code());
        assertEquals(c, read);
    }

    @Test
    void realTimePriorityIsWritten() throws Exception {
        ThreadState l = Samples.leader();
        ThreadState rt = new ThreadState(l.tid(), l.registers(), l.sigmask(), l.rseq(), l.robustList(),
                l.clearTidAddress(), l.comm(), l.altStack(), new Sched(Sched.SCHED_FIFO, 10, -5), l.pending(),
                l.pdeathSig());
        Checkpoint c = Checkpoint.of(Samples.process(List.of(rt)), Samples.files());
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        core_entry core = ImageDir.of(dir).readCore(Samples.PID);
        assertEquals(10, core.getThreadCore().getSchedPrio());
        assertEquals(-5, core.getThreadCore().getSchedNice());
        assertEquals(new Sched(Sched.SCHED_FIFO, 10, -5), Checkpoint.read(dir).root().leader().sched());
    }

    @Test
    void coreWithoutSignalStateReadsAsNone() throws Exception {
        Samples.writeSample(dir);
        core_entry core = ImageDir.of(dir).readCore(Samples.PID);
        core_entry.Builder b = core.toBuilder();
        b.getThreadCoreBuilder().clearSas().clearSchedNice().clearSchedPolicy().clearSchedPrio().clearSignalsP();
        b.getTcBuilder().clearSignalsS();
        ImageDir.of(dir).writeCore(Samples.PID, b.build());
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(SigAltStack.DISABLED, read.root().leader().altStack());
        assertEquals(Sched.DEFAULT, read.root().leader().sched());
        assertTrue(read.root().leader().pending().isEmpty());
        assertTrue(read.root().state().sharedPending().isEmpty());
    }

    @Test
    void siginfoOfAnotherSizeIsRefused() throws Exception {
        Samples.writeSample(dir);
        core_entry core = ImageDir.of(dir).readCore(Samples.PID);
        core_entry.Builder b = core.toBuilder();
        b.getThreadCoreBuilder().getSignalsPBuilder().getSignalsBuilder(0)
                .setSiginfo(com.google.protobuf.ByteString.copyFrom(new byte[64]));
        ImageDir.of(dir).writeCore(Samples.PID, b.build());
        ImageException e = org.junit.jupiter.api.Assertions.assertThrows(ImageException.class, () -> Checkpoint.read(dir));
        assertThat(e.getMessage(), org.hamcrest.Matchers.containsString("core-4242.img"));
        assertThat(e.getMessage(), org.hamcrest.Matchers.containsString("signals_p 0: a siginfo is 128 bytes, got 64"));
    }

    @Test
    void emptyPresentSetCreatesAnEmptyPagesFile() throws Exception {
        Checkpoint sample = Samples.checkpoint();
        Pagemap lazyOnly = Pagemap.builder(3).add(0x7ffff7d00000L, 16, PagemapIov.PE_LAZY).build();
        ProcessImage p = sample.root();
        Checkpoint c = Checkpoint.of(new ProcessImage(p.state(), p.threads(), p.vmas(), lazyOnly, List.of()), List.of());
        c.write(dir);
        assertEquals(0, Files.size(dir.resolve("pages-3.img")));
        assertEquals(c, Checkpoint.read(dir));
    }

    @Test
    void rewritingReplacesImagesAtomically() throws Exception {
        Samples.writeSample(dir);
        Checkpoint c = Samples.checkpoint();
        c.write(dir);
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
        assertEquals(c, Checkpoint.read(dir));
    }
}
