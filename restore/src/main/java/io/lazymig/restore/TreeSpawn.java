package io.lazymig.restore;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.ProcessImage;
import io.lazymig.images.TreeIds;
import io.lazymig.images.Zombie;
import io.lazymig.jni.Errno;
import io.lazymig.jni.ProcessMemory;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Registers;
import io.lazymig.jni.SyscallBatch;
import io.lazymig.jni.SyscallInjector;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.WaitStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every process of the tree created, before anything of the checkpoint is restored in any of them
 * (CRIU's order): from the root's stub down, each child forked from its parent's stub
 * ({@link ProcessFork}) with its pid, parents before children; a session leader calls setsid()
 * before it forks its children, so they inherit its session; then every group leader makes its
 * group and every other member joins its group ({@link TreeIds}). The stubs stay pristine copies
 * of restore's stub, each then rebuilt as the root is. Zombies are created the same way and
 * exit, with their status, only once their parent is restored, just before the release
 * ({@link #exitZombies}). All on the tracer thread.
 */
final class TreeSpawn {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    /** One process created: its place in the tree, its new pid, and what it is (a process or a zombie). */
    record Spawned(TreeIds.Node node, int pid, Stub stub, ProcessImage process, Zombie zombie) {
    }

    private final List<Spawned> spawned = new ArrayList<>();
    /** Original pid → pid on this host. */
    private final Map<Integer, Integer> pids = new HashMap<>();

    TreeSpawn() {
    }

    /**
     * Creates the tree below the root's stub {@code rootPid}; {@code anyPid}: the children take
     * whatever pids the kernel gives. On failure the caller kills {@link #pids()} (all created so far).
     */
    void spawn(Checkpoint cp, int rootPid, boolean anyPid) throws IOException {
        spawn(cp, rootPid, anyPid, null);
    }

    /**
     * The same; {@code cow} (null: none) has each parent get the VMAs and pages its children share
     * copy-on-write with it before they are forked, so they inherit them ({@link CowTree}).
     */
    void spawn(Checkpoint cp, int rootPid, boolean anyPid, CowTree cow) throws IOException {
        spawn(cp, rootPid, anyPid, cow, null);
    }

    /**
     * The same; {@code ahead} (null: none): the tree already created from the root's stub before
     * the images came ({@link #ahead}), which the caller checked {@link #matches} the checkpoint's
     * and that {@code cow} is null: its processes taken over, in the order a spawn makes them.
     */
    void spawn(Checkpoint cp, int rootPid, boolean anyPid, CowTree cow, TreeSpawn ahead) throws IOException {
        List<TreeIds.Node> nodes = TreeIds.of(cp);
        Map<Integer, ProcessImage> live = new HashMap<>();
        for (ProcessImage p : cp.processes()) {
            live.put(p.pid(), p);
        }
        Map<Integer, Zombie> zombies = new HashMap<>();
        for (Zombie z : cp.zombies()) {
            zombies.put(z.pid(), z);
        }
        if (ahead != null) {
            adopt(nodes, rootPid, cp.root(), live, zombies, ahead);
            return;
        }
        create(nodes, rootPid, anyPid, cp.root(), live, zombies, cow);
    }

    /**
     * The tree of {@code hint} (the source's /proc before its freeze, root first) created below the
     * pristine root stub {@code rootPid}, with the original pids, sessions and groups, while the
     * images are still on their way: the forks and setsid/setpgid stops then lie outside the
     * downtime (make bench, a tree of 4 on a busy host: 6-24 ms of A's restore). On failure the
     * children made so far are killed (the root is the caller's).
     */
    static TreeSpawn ahead(List<TreeIds.Node> hint, int rootPid) throws IOException {
        TreeSpawn t = new TreeSpawn();
        try {
            t.create(hint, rootPid, false, null, Map.of(), Map.of(), null);
        } catch (IOException | RuntimeException e) {
            t.killChildren();
            throw e;
        }
        return t;
    }

    /**
     * Whether this tree, made {@link #ahead}, is the one of {@code nodes} (a checkpoint's): the
     * same processes with the same parents, groups and sessions (the root's parent aside: outside
     * the tree). Zombies are created as any process, so which ones are zombies does not matter.
     */
    boolean matches(List<TreeIds.Node> nodes) {
        if (nodes.size() != spawned.size() || nodes.isEmpty()) {
            return false;
        }
        TreeIds.Node root = nodes.get(0);
        TreeIds.Node mine = spawned.get(0).node();
        if (root.pid() != mine.pid() || root.pgid() != mine.pgid() || root.sid() != mine.sid()) {
            return false;
        }
        java.util.Set<TreeIds.Node> made = new java.util.HashSet<>();
        for (int i = 1; i < spawned.size(); i++) {
            made.add(spawned.get(i).node());
        }
        for (int i = 1; i < nodes.size(); i++) {
            if (!made.remove(nodes.get(i))) {
                return false;
            }
        }
        return made.isEmpty();
    }

    /** Kills and reaps every process made below the root, the last made first (the root is left). */
    void killChildren() {
        for (int i = spawned.size() - 1; i >= 1; i--) {
            try {
                Ptrace.killAndReap(spawned.get(i).pid());
            } catch (IOException ignored) {
                // gone already
            }
        }
    }

    /** Takes over the processes of {@code ahead}, in the order {@link #create} would have made them. */
    private void adopt(List<TreeIds.Node> nodes, int rootPid, ProcessImage root, Map<Integer, ProcessImage> live,
                       Map<Integer, Zombie> zombies, TreeSpawn ahead) {
        Map<Integer, Spawned> made = new HashMap<>();
        for (Spawned s : ahead.spawned) {
            made.put(s.node().pid(), s);
        }
        spawned.add(new Spawned(nodes.get(0), rootPid, made.get(nodes.get(0).pid()).stub(), root, null));
        pids.put(nodes.get(0).pid(), rootPid);
        for (int i = 0; i < spawned.size(); i++) {
            Spawned parent = spawned.get(i);
            for (TreeIds.Node n : nodes) {
                if (n.ppid() != parent.node().pid() || n == nodes.get(0)) {
                    continue;
                }
                Spawned a = made.get(n.pid());
                spawned.add(new Spawned(n, a.pid(), a.stub(), live.get(n.pid()), zombies.get(n.pid())));
                pids.put(n.pid(), a.pid());
            }
        }
        log.debug("restore: tree of {} process(es) created before the images came: {}", spawned.size(), pids);
    }

    private void create(List<TreeIds.Node> nodes, int rootPid, boolean anyPid, ProcessImage rootImage,
                        Map<Integer, ProcessImage> live, Map<Integer, Zombie> zombies, CowTree cow) throws IOException {
        TreeSpawn t = this;
        long r0 = System.nanoTime();
        t.add(nodes.get(0), rootPid, rootImage, null);
        long rootReady = System.nanoTime() - r0;
        for (int i = 0; i < t.spawned.size(); i++) {
            Spawned parent = t.spawned.get(i);
            if (parent.zombie() != null) {
                continue;
            }
            if (cow != null) {
                List<ProcessImage> children = new ArrayList<>();
                for (TreeIds.Node n : nodes) {
                    if (n.ppid() == parent.node().pid() && n != nodes.get(0) && live.containsKey(n.pid())) {
                        children.add(live.get(n.pid()));
                    }
                }
                cow.beforeForks(parent.process(), parent.stub(), children);
            }
            for (TreeIds.Node n : nodes) {
                if (n.ppid() != parent.node().pid() || n == nodes.get(0)) {
                    continue;
                }
                String what = (zombies.containsKey(n.pid()) ? "zombie " : "process ") + n.pid() + ", child of "
                        + parent.node().pid();
                long f0 = System.nanoTime();
                int pid = ProcessFork.fork(parent.stub(), anyPid ? 0 : n.pid(), what);
                long f1 = System.nanoTime();
                t.add(n, pid, live.get(n.pid()), zombies.get(n.pid()));
                if (log.isDebugEnabled()) {
                    log.debug("restore: {} forked in {} us, its stub ready in {} us", what, (f1 - f0) / 1000,
                            (System.nanoTime() - f1) / 1000);
                }
                if (cow != null && live.containsKey(n.pid())) {
                    cow.forked(parent.process(), live.get(n.pid()));
                }
            }
        }
        long g0 = System.nanoTime();
        // the groups: every leader makes its own, then every other member joins its; each all at once
        List<SyscallBatch.Call> leaders = new ArrayList<>();
        List<SyscallBatch.Call> joiners = new ArrayList<>();
        for (Spawned s : t.spawned) {
            if (TreeIds.leadsGroup(s.node())) {
                leaders.add(s.stub().in(s.pid(), 0, 0));
            } else if (TreeIds.joinsGroup(s.node(), nodes)) {
                joiners.add(s.stub().in(s.pid(), 0, t.pids.get(s.node().pgid())));
            }
        }
        setpgid(leaders);
        setpgid(joiners);
        if (log.isDebugEnabled()) {
            log.debug("restore: tree of {} process(es) created: {}; the root's stub ready in {} us, the groups in {} us",
                    t.spawned.size(), t.pids, rootReady / 1000, (System.nanoTime() - g0) / 1000);
        }
    }

    /** setpgid(args) injected into each process of {@code calls} at once ({@link SyscallBatch}); a failure names it. */
    private static void setpgid(List<SyscallBatch.Call> calls) throws IOException {
        if (calls.isEmpty()) {
            return;
        }
        long[] rcs = SyscallBatch.inject(Syscalls.SETPGID, calls);
        for (int i = 0; i < rcs.length; i++) {
            if (Syscalls.isError(rcs[i])) {
                int errno = Syscalls.errno(rcs[i]);
                throw new RestoreException("injected setpgid(0, " + calls.get(i).args()[1] + ") in process "
                        + calls.get(i).tid() + " failed: " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
            }
        }
    }

    /** Records one created process; a session leader makes its session at once (before it forks). */
    private void add(TreeIds.Node n, int pid, ProcessImage process, Zombie zombie) throws IOException {
        Stub stub = new Stub(pid, SyscallInjector.findSyscallInstruction(pid));
        spawned.add(new Spawned(n, pid, stub, process, zombie));
        pids.put(n.pid(), pid);
        if (TreeIds.leadsSession(n)) {
            stub.call("setsid", Syscalls.SETSID);
        }
    }

    /** PR_SET_NAME in a pristine stub: the name is written below its stack pointer (it has no scratch area). */
    private static void setName(Spawned s, String comm) throws IOException {
        byte[] b = comm.getBytes(StandardCharsets.UTF_8);
        long at = (Ptrace.getRegisters(s.pid()).rsp() - 2048) & -16L;
        ByteBuffer name = Stub.struct(b.length + 1).put(b).put((byte) 0).flip();
        ProcessMemory.write(s.pid(), at, name);
        s.stub().call("prctl(PR_SET_NAME)", Syscalls.PRCTL, SystemInfo.PR_SET_NAME, at, 0, 0, 0);
    }

    /** Every process created, the root first, parents before children. */
    List<Spawned> spawned() {
        return spawned;
    }

    /** Original pid → pid here. */
    Map<Integer, Integer> pids() {
        return pids;
    }

    /**
     * Each zombie ends as it had: exit_group(code) run from its stub's syscall instruction, or
     * killed by its signal (sent by an injected kill() and let through at its delivery stop). Its
     * tracer (restore) sees the exit first; the kernel then hands the zombie to its real parent,
     * which reaps it with its status whenever it waits.
     */
    void exitZombies() throws IOException {
        for (Spawned s : spawned) {
            Zombie z = s.zombie();
            if (z == null) {
                continue;
            }
            setName(s, z.comm());
            if (z.termSignal() == 0) {
                Registers regs = Ptrace.getRegisters(s.pid());
                regs.setRip(s.stub().syscallAddress()).setRax(Syscalls.EXIT_GROUP).setOrigRax(-1).setRdi(z.exitCode());
                Ptrace.setRegisters(s.pid(), regs);
            } else {
                s.stub().call("kill", Syscalls.KILL, s.pid(), z.termSignal());
            }
            Ptrace.cont(s.pid(), 0);
            for (int i = 0; i < 16; i++) {
                WaitStatus st = Ptrace.waitpid(s.pid());
                if (st.exited() || st.signaled()) {
                    log.debug("restore: zombie {} (pid {} here) {}", z.pid(), s.pid(), st.describe());
                    break;
                }
                Ptrace.cont(s.pid(), st.stopped() && st.isSignalStop() ? st.stopSignal() : 0);
            }
        }
    }
}
