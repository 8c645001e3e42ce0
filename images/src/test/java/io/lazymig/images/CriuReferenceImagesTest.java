package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.inventory_entry;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images written by real CRIU 4.1.1 (src/test/resources/criu-4.1.1, see its README): we must read
 * them, understand them as CRIU meant, and write them back in a form that reads back the same.
 */
class CriuReferenceImagesTest {
    static final int PID = 21427;

    @TempDir
    Path out;

    static Path reference() throws URISyntaxException {
        return Path.of(CriuReferenceImagesTest.class.getResource("/criu-4.1.1/inventory.img").toURI()).getParent();
    }

    @Test
    void framingLevelReadsEveryImage() throws Exception {
        ImageDir d = ImageDir.of(reference());
        inventory_entry inv = d.readInventory();
        assertEquals(2, inv.getImgVersion());
        assertTrue(inv.hasDumpCriuRunId());
        assertEquals(PID, d.readPstree().get(0).getPid());
        core_entry core = d.readCore(PID);
        assertEquals(62, core.getTc().getSigactionsCount());
        assertEquals(2, d.readIds(PID).getFilesId());
        assertEquals(4, d.readFdinfo(2).size());
        assertEquals(8, d.readFiles().size());
        assertTrue(d.readMm(PID).getVmasCount() > 10);
        assertEquals(1, d.readPagemap(PID).head().getPagesId());
        assertEquals(027, d.readFs(PID).getUmask());
    }

    @Test
    void checkpointMeansWhatCriuMeant() throws Exception {
        Checkpoint c = Checkpoint.read(reference(), SyntheticCpu.amdAvx512());
        ProcessState t = c.root().state();
        ThreadState leader = c.root().leader();
        assertEquals(List.of(leader), c.root().threads());
        assertEquals(PID, t.pid());
        assertEquals(PID, leader.tid());
        assertEquals("target", t.comm());
        assertEquals("/tmp/wt-images-fixture/target", t.exePath());
        assertEquals("/tmp/wt-images-fixture", t.cwd());
        assertEquals("/", t.root());
        assertEquals(027, t.umask());
        assertEquals(1L << (12 - 1), leader.sigmask(), "SIGUSR2 blocked");
        assertEquals(1, t.sigactions().size());
        SigAction usr1 = t.sigactions().get(0);
        assertEquals(10, usr1.signo());
        assertEquals(0x14000000L, usr1.flags(), "SA_RESTART | SA_RESTORER");
        assertTrue(leader.rseq().isRegistered());
        assertEquals(32, leader.rseq().abiSize());
        assertEquals(0x53053053, leader.rseq().signature());
        assertEquals(24, leader.robustList().length());
        assertEquals(16, t.rlimits().size());
        assertEquals(0, t.creds().euid());
        assertEquals(0x1ff_feff_ffffL, t.creds().capEff(), "every capability but CAP_SYS_RESOURCE (24), 41 in all");
        assertEquals(0, t.mm().auxv().length % 2);

        List<FdSlot> fds = c.root().fds();
        assertEquals(List.of(0, 1, 2, 3), fds.stream().map(FdSlot::fd).toList());
        assertTrue(c.file(fds.get(0).fileId()) instanceof DevNull);
        RegularFile out = (RegularFile) c.file(fds.get(1).fileId());
        assertEquals("/tmp/wt-images-fixture/out.txt", out.path());
        assertEquals(6, out.pos());
        assertTrue(c.file(fds.get(2).fileId()) instanceof DevNull);
        assertTrue(fds.get(3).closeOnExec());
        RegularFile log = (RegularFile) c.file(fds.get(3).fileId());
        assertEquals(18, log.pos());

        List<Integer> special = new ArrayList<>();
        for (Vma v : c.vmas()) {
            if (v.isSpecial()) {
                special.add(v.status());
            }
        }
        // [vvar] (vvar and vvar_vclock as one area), [vdso], [vsyscall]
        assertThat(special, contains(0x1201, 0x209, 0x204));
        Vma stack = c.vmaAt(c.root().leader().registers().user().sp()).orElseThrow();
        assertTrue((stack.flags() & Vma.MAP_GROWSDOWN) != 0);
        assertTrue(stack.canBeLazy());

        // The stack-pointer page is never lazy; the heap and anonymous pages are LAZY|PRESENT.
        PagemapIov spPage = c.pagemap().find(c.root().leader().registers().user().sp()).orElseThrow();
        assertTrue(spPage.isPresent());
        assertTrue(c.pagemap().lazyPages() > 0);
        assertEquals(Files.size(reference().resolve("pages-1.img")), c.pagemap().presentBytes());

        // The anonymous mapping the target filled with (i * 7) bytes.
        PagesFile pages = ImageDir.of(reference()).openPages(1);
        try (pages) {
            byte[] expected = new byte[4096];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = (byte) (i * 7);
            }
            int found = 0;
            for (PagemapIov iov : c.pagemap().iovs()) {
                for (long p = 0; iov.isPresent() && p < iov.nrPages(); p++) {
                    ByteBuffer page = ByteBuffer.allocate(4096);
                    pages.read(iov.fileOffset(iov.vaddr() + p * 4096), page);
                    if (java.util.Arrays.equals(expected, page.array())) {
                        found++;
                        assertTrue(iov.isLazy(), iov + " holds anonymous memory");
                    }
                }
            }
            assertEquals(8, found, "the target's 8 pattern pages are in pages-1.img");
        }

        ByteBuffer xstate = ByteBuffer.wrap(c.root().leader().registers().xstate()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x1f80, xstate.getInt(24), "mxcsr default");
        assertEquals(0x37f, xstate.getShort(0), "x87 control word default");
        assertEquals(SyntheticCpu.amdAvx512().size(), c.root().leader().registers().xstateSize(), "rebuilt in the layout given");
    }

    @Test
    void criuImagesNeedTheLayoutToRebuildTheArea() throws Exception {
        ImageException e = org.junit.jupiter.api.Assertions.assertThrows(ImageException.class,
                () -> Checkpoint.read(reference()));
        assertEquals("core-" + PID + ".img: no lazymig xsave area (an image made by CRIU): rebuilding the XSAVE area"
                + " from CRIU's fields needs this CPU's layout, and none was given", e.getMessage());
    }

    @Test
    void rewrittenByUsReadsBackTheSame() throws Exception {
        Path ref = reference();
        Checkpoint c = Checkpoint.read(ref, SyntheticCpu.amdAvx512());
        Files.copy(ref.resolve("pages-1.img"), out.resolve("pages-1.img"));
        c.write(out);
        Checkpoint back = Checkpoint.read(out);
        assertEquals(c, back);
        // CRIU's fields of our core image carry the same register state as CRIU's own image.
        core_entry theirs = ImageDir.of(ref).readCore(PID);
        core_entry ours = ImageDir.of(out).readCore(PID);
        assertEquals(theirs.getThreadInfo().getGpregs(), ours.getThreadInfo().getGpregs());
        // CRIU also writes a CET entry (zeros here); we do not model CET.
        assertEquals(theirs.getThreadInfo().getFpregs().getXsave().toBuilder().clearCet().build(),
                ours.getThreadInfo().getFpregs().getXsave());
        assertEquals(theirs.getThreadInfo().getFpregs().getStSpaceList(), ours.getThreadInfo().getFpregs().getStSpaceList());
        assertFalse(theirs.getThreadInfo().getFpregs().hasLazymigXsaveArea());
        assertArrayEquals(c.root().leader().registers().xstate(), ours.getThreadInfo().getFpregs().getLazymigXsaveArea().toByteArray());
    }
}
