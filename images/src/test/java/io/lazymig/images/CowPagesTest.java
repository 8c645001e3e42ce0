package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child's pages shared copy-on-write with its parent (PE_COW): written and read back, and
 * refused where restore could not have them from the parent (no parent, a VMA the parent has not
 * as it is, a parent page that is lazy), each with one line naming the process and the iov.
 */
class CowPagesTest {
    /** The sample's stack-pointer page: eager in the parent (PE_PRESENT alone), in a VMA the child has unchanged. */
    private static final long STACK_PAGE = 0x7fffffffe000L;

    @TempDir
    Path dir;

    private static Checkpoint tree(Pagemap childPages) {
        ProcessImage c = TreeTest.child();
        ProcessImage child = new ProcessImage(c.state(), c.threads(), c.vmas(), childPages, c.fds());
        return new Checkpoint(List.of(Samples.process(List.of(Samples.leader())), child), TreeTest.tree().files());
    }

    @Test
    void aChildsCowPagesComeBackAsTheyWere() throws Exception {
        Checkpoint c = tree(Pagemap.builder(2).add(0x555555559000L, 2, PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT)
                .add(STACK_PAGE, 1, PagemapIov.PE_COW).build());
        Samples.writePages(dir, c.processes().get(0).pagemap());
        Samples.writePages(dir, c.processes().get(1).pagemap());
        c.write(dir);
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(c, read);
        Pagemap child = read.processes().get(1).pagemap();
        assertEquals(1, child.cowPages());
        assertEquals(2 * PagemapIov.PAGE_SIZE, child.presentBytes(), "no data for the PE_COW page");
        assertEquals("iov 0x7fffffffe000+1p PE_COW", child.iovs().get(1).toString());
    }

    @Test
    void aCowPageWhoseParentsPageIsLazyIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tree(Pagemap.builder(2)
                .add(0x555555559000L, 2, PagemapIov.PE_COW).build()));
        assertEquals("process " + TreeTest.CHILD + ": iov 0x555555559000+2p PE_COW: its parent " + Samples.PID
                + " holds 0x555555559000 as iov 0x555555559000+4p PE_LAZY|PE_PRESENT @4096, not eager (PE_PRESENT "
                + "alone) nor PE_COW", e.getMessage());
    }

    @Test
    void aCowPageOutsidePrivateAnonymousMemoryIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tree(Pagemap.builder(2)
                .add(0x555555557000L, 1, PagemapIov.PE_COW).build()));
        assertTrue(e.getMessage().startsWith("process " + TreeTest.CHILD + ": iov 0x555555557000+1p PE_COW lies in vma "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("which parent " + Samples.PID + " has not as it is (copy-on-write pages lie "
                + "only in a VMA inherited unchanged)"), e.getMessage());
    }

    @Test
    void theRootHasNoParentToShareWith() {
        Pagemap pm = Pagemap.builder(1).add(STACK_PAGE, 1, PagemapIov.PE_COW).build();
        ProcessImage root = new ProcessImage(Samples.state(), List.of(Samples.leader()), Samples.vmas(), pm, Samples.fds());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checkpoint.of(root, Samples.files()));
        assertEquals("process " + Samples.PID + ": iov 0x7fffffffe000+1p PE_COW is copy-on-write from a parent, and it "
                + "has none in the checkpoint", e.getMessage());
    }

    @Test
    void peCowGoesAlone() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PagemapIov(STACK_PAGE, 1, PagemapIov.PE_COW | PagemapIov.PE_PRESENT, 0));
        assertEquals("iov at 0x7fffffffe000: PE_COW goes alone, not with 0x4", e.getMessage());
    }
}
