package io.lazymig.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lazymig.images.TreeIds.Node;
import io.lazymig.images.proto.pstree_entry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint of a tree: a root, a child with its own pages, a zombie; and the rules for sessions and groups. */
class TreeTest {
    static final int CHILD = Samples.PID + 10;
    static final int ZOMBIE = Samples.PID + 11;

    @TempDir
    Path dir;

    static ProcessImage child() {
        ProcessState r = Samples.state();
        ProcessState s = ProcessState.builder().pid(CHILD).ppid(Samples.PID).pgid(CHILD).sid(Samples.PID).comm("child")
                .exePath(r.exePath()).cwd(r.cwd()).root(r.root()).umask(r.umask()).rlimits(r.rlimits())
                .sigactions(r.sigactions()).creds(r.creds()).mm(r.mm()).build();
        ThreadState l = Samples.leader();
        ThreadState t = new ThreadState(CHILD, l.registers(), l.sigmask(), l.rseq(), l.robustList(), l.clearTidAddress(),
                "child", l.altStack(), l.sched(), List.of(), 0);
        Pagemap pm = Pagemap.builder(2).add(0x555555559000L, 2, PagemapIov.PE_LAZY | PagemapIov.PE_PRESENT).build();
        return new ProcessImage(s, List.of(t), Samples.vmas(), pm, List.of(new FdSlot(1, false, 4)));
    }

    static Checkpoint tree() {
        List<FileObject> files = new java.util.ArrayList<>(Samples.files());
        files.add(new RegularFile(4, "/tmp/child.out", Samples.O_WRONLY, 77));
        return new Checkpoint(List.of(Samples.process(List.of(Samples.leader())), child()), files, List.of(),
                List.of(new FileLock(CHILD, "/tmp/child.out", true, 1)),
                List.of(new Zombie(ZOMBIE, Samples.PID, Samples.PID, Samples.PID, "done", 3 << 8)));
    }

    @Test
    void treeComesBackWithItsZombie() throws Exception {
        Checkpoint c = tree();
        Samples.writePages(dir, c.processes().get(0).pagemap());
        Samples.writePages(dir, c.processes().get(1).pagemap());
        c.write(dir);
        Checkpoint read = Checkpoint.read(dir);
        assertEquals(c, read);
        assertTrue(read.isTree());
        List<pstree_entry> pstree = ImageDir.of(dir).readPstree();
        assertEquals(List.of(Samples.PID, CHILD, ZOMBIE), pstree.stream().map(pstree_entry::getPid).toList());
        assertEquals(List.of(0, Samples.PID, Samples.PID), pstree.stream().map(pstree_entry::getPpid).toList());
        assertEquals(CHILD, pstree.get(1).getPgid());
        assertEquals(2, ImageDir.of(dir).readCore(ZOMBIE).getTc().getTaskState(), "CRIU's TASK_DEAD");
        assertEquals(3 << 8, ImageDir.of(dir).readCore(ZOMBIE).getTc().getExitCode());
        assertEquals(1, ImageDir.of(dir).readFdinfo(3).size(), "the child's fds in fdinfo of its own files id");
        assertEquals(3, read.zombies().get(0).exitCode());
        assertEquals(0, read.zombies().get(0).termSignal());
    }

    @Test
    void twoProcessesOnOnePagesFileAreRefused() throws Exception {
        ProcessImage c = child();
        ProcessImage sameId = new ProcessImage(c.state(), c.threads(), c.vmas(),
                Pagemap.builder(1).add(0x555555559000L, 2, PagemapIov.PE_LAZY).build(), List.of());
        Checkpoint cp = new Checkpoint(List.of(Samples.process(List.of(Samples.leader())), sameId), Samples.files());
        Samples.writePages(dir, cp.root().pagemap());
        ImageException e = assertThrows(ImageException.class, () -> cp.write(dir));
        assertEquals("process " + CHILD + ": pages id 1 is another process's too", e.getMessage());
    }

    @Test
    void aZombieNeedsALiveParent() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Checkpoint(
                List.of(Samples.process(List.of(Samples.leader()))), Samples.files(), List.of(), List.of(),
                List.of(new Zombie(ZOMBIE, 99, 99, 99, "z", 0))));
        assertEquals("zombie " + ZOMBIE + " has ppid 99, which is not a live process of the checkpoint", e.getMessage());
    }

    @Test
    void zombieWaitStatus() {
        Zombie killed = new Zombie(5, 1, 1, 1, "k", 9);
        assertEquals(9, killed.termSignal());
        assertThrows(IllegalArgumentException.class, () -> new Zombie(5, 1, 1, 1, "stopped", 0x137f));
    }

    @Test
    void sessionsAndGroupsInsideTheTree() {
        // a session leader 10; child 11 leads group 11; 12 joins 11's group; 13 its own session
        List<Node> nodes = List.of(new Node(10, 0, 10, 10), new Node(11, 10, 11, 10), new Node(12, 11, 11, 10),
                new Node(13, 10, 13, 13));
        assertNull(TreeIds.refusal(nodes));
        assertTrue(TreeIds.leadsSession(nodes.get(0)));
        assertFalse(TreeIds.leadsGroup(nodes.get(0)), "setsid made its group");
        assertTrue(TreeIds.leadsGroup(nodes.get(1)));
        assertTrue(TreeIds.joinsGroup(nodes.get(2), nodes));
        assertFalse(TreeIds.joinsGroup(nodes.get(3), nodes));
    }

    @Test
    void aShellJobKeepsTheRootsOutsideSessionAndGroup() {
        List<Node> nodes = List.of(new Node(10, 0, 5, 1), new Node(11, 10, 5, 1), new Node(12, 10, 12, 1));
        assertNull(TreeIds.refusal(nodes));
        assertFalse(TreeIds.joinsGroup(nodes.get(1), nodes), "inherits the root's group");
    }

    @Test
    void refusals() {
        assertEquals("process 11 is in process group 7, which no process of the tree leads, and the root is in"
                + " another: dump the group leader (or the session leader) instead",
                TreeIds.refusal(List.of(new Node(10, 0, 10, 10), new Node(11, 10, 7, 10))));
        assertEquals("process 11 is in session 3 but its parent 10 in session 10 (its parent called setsid() after"
                + " forking it): restore cannot recreate that without helper processes",
                TreeIds.refusal(List.of(new Node(10, 0, 10, 10), new Node(11, 10, 10, 3))));
        assertEquals("process 12 in session 12 is in process group 11 of session 10: a group lies in one session",
                TreeIds.refusal(List.of(new Node(10, 0, 10, 10), new Node(11, 10, 11, 10), new Node(12, 11, 11, 12))));
    }
}
