package io.lazymig.dump;

import io.lazymig.images.Zombie;
import io.lazymig.jni.NativeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A process and every descendant frozen ({@link FrozenProcess} each: every thread seized and
 * interrupted), parents before children, and its zombies. The tree is walked from the root: a
 * process is frozen first, then its children are listed (/proc/PID/task/TID/children of each of
 * its threads); once it is frozen it cannot fork, so that list is final and every child is then
 * frozen in turn. A child that is a zombie (or became one while being seized) is recorded as one;
 * a child gone altogether (reaped by the kernel for a parent that ignores SIGCHLD) is left out.
 * The calling thread is every process's tracer.
 */
final class FrozenTree implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");

    /** One frozen process and its parent's pid (0 for the root). */
    record Member(FrozenProcess process, int ppid) {
        int pid() {
            return process.pid();
        }
    }

    private final List<Member> members;
    private final List<Zombie> zombies;
    private final long seizedAt;
    private boolean released;

    private FrozenTree(List<Member> members, List<Zombie> zombies, long seizedAt) {
        this.members = members;
        this.zombies = zombies;
        this.seizedAt = seizedAt;
    }

    /** Freezes {@code root} and all its descendants; on failure, every process frozen so far is resumed. */
    static FrozenTree freeze(int root) throws IOException {
        long seizedAt = System.nanoTime();
        List<Member> members = new ArrayList<>();
        List<Zombie> zombies = new ArrayList<>();
        try {
            members.add(new Member(FrozenProcess.freeze(root), 0));
            for (int i = 0; i < members.size(); i++) {
                Member parent = members.get(i);
                for (int child : children(parent.process())) {
                    Zombie z = zombie(child, parent.pid());
                    if (z != null) {
                        zombies.add(z);
                        continue;
                    }
                    try {
                        members.add(new Member(FrozenProcess.freeze(child), parent.pid()));
                    } catch (DumpException e) {
                        // It may have exited meanwhile: a zombie now (its parent is frozen), or reaped.
                        Zombie late = zombie(child, parent.pid());
                        if (late != null) {
                            zombies.add(late);
                        } else if (Files.exists(Path.of("/proc", Integer.toString(child)))) {
                            throw new DumpException("cannot freeze process " + child + " (child of " + parent.pid()
                                    + "): " + e.getMessage(), e);
                        } else {
                            log.info("dump: process {} (child of {}) exited and was reaped while the tree froze",
                                    child, parent.pid());
                        }
                    }
                }
            }
            return new FrozenTree(List.copyOf(members), List.copyOf(zombies), seizedAt);
        } catch (IOException | RuntimeException e) {
            for (int i = members.size() - 1; i >= 0; i--) {
                members.get(i).process().close();
            }
            throw e;
        }
    }

    /** The children of every thread of a frozen process, in the order the kernel lists them. */
    private static List<Integer> children(FrozenProcess p) throws IOException {
        List<Integer> out = new ArrayList<>();
        ProcFileBuffer file = new ProcFileBuffer(); // one file a thread, inside the freeze: ProcText cost ~50 us each
        for (FrozenProcess.Stopped t : p.threads()) {
            String f = "/proc/" + p.pid() + "/task/" + t.tid() + "/children";
            String s;
            try {
                s = file.read(f).text().trim();
            } catch (java.io.FileNotFoundException e) {
                if (new java.io.File(f).exists()) {
                    throw e;
                }
                throw new DumpException("process " + p.pid() + " has no " + f + " (CONFIG_PROC_CHILDREN)");
            }
            if (s.isEmpty()) {
                continue;
            }
            for (String c : s.split("\\s+")) {
                int pid = Integer.parseInt(c);
                if (!out.contains(pid)) {
                    out.add(pid);
                }
            }
        }
        return out;
    }

    /** The zombie {@code pid} (child of {@code ppid}) from /proc/PID/stat, or null when it is not one (or gone). */
    static Zombie zombie(int pid, int ppid) throws IOException {
        String stat;
        try {
            stat = ProcText.read(Path.of("/proc", Integer.toString(pid), "stat"));
        } catch (NoSuchFileException e) {
            return null;
        }
        return parseZombie(stat, ppid);
    }

    /** proc(5)'s stat line of a zombie as one, or null when its state is not Z. */
    static Zombie parseZombie(String stat, int ppid) {
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        String[] f = stat.substring(close + 1).trim().split("\\s+");
        if (!f[0].equals("Z")) {
            return null;
        }
        int pid = Integer.parseInt(stat.substring(0, open).trim());
        String comm = stat.substring(open + 1, close);
        // fields from 3 (state) on: pgrp is 5, session 6, exit_code 52
        return new Zombie(pid, ppid, Integer.parseInt(f[5 - 3]), Integer.parseInt(f[6 - 3]), comm,
                Integer.parseInt(f[52 - 3]));
    }

    /** Every live process, the root first, parents before children. */
    List<Member> members() {
        return members;
    }

    List<Zombie> zombies() {
        return zombies;
    }

    long seizedAt() {
        return seizedAt;
    }

    /** Kills every process, the deepest first. */
    void kill() throws NativeException {
        released = true;
        NativeException first = null;
        for (int i = members.size() - 1; i >= 0; i--) {
            try {
                members.get(i).process().kill();
            } catch (NativeException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Resumes every process untouched, the deepest first. */
    void resume() throws NativeException {
        released = true;
        NativeException first = null;
        for (int i = members.size() - 1; i >= 0; i--) {
            try {
                members.get(i).process().resume();
            } catch (NativeException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public void close() {
        if (!released) {
            released = true;
            for (int i = members.size() - 1; i >= 0; i--) {
                members.get(i).process().close();
            }
        }
    }

    /** "N processes (pids)" for the log. */
    String describe() {
        Map<Integer, Integer> m = new LinkedHashMap<>();
        for (Member x : members) {
            m.put(x.pid(), x.ppid());
        }
        return members.size() + " process(es) " + m.keySet() + (zombies.isEmpty() ? "" : ", zombies "
                + zombies.stream().map(Zombie::pid).toList());
    }

}
