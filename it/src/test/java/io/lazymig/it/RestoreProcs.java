package io.lazymig.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What /proc says about a process, for comparing a workload before dump with the restored one.
 * Only reads that never touch the process's memory (so they cannot block on a lazy page), except
 * {@link State#cmdline}, which {@link #state} reads only when asked to.
 */
final class RestoreProcs {
    private RestoreProcs() {
    }

    /** One fd: where it points and its open flags (fdinfo "flags", octal, as the kernel prints it). */
    record Fd(String target, String flags) {
    }

    /** The identity, files and signal state restore must carry over. */
    record State(int pid, String exe, String cmdline, String comm, String cwd, String sigBlk, String sigIgn,
                 String sigCgt, Map<Integer, Fd> fds) {
    }

    static Path proc(int pid, String name) {
        return Path.of("/proc", Integer.toString(pid), name);
    }

    /** The exe link target, or null when there is no such process (or it is a zombie). */
    static String exe(int pid) throws IOException {
        try {
            return Files.readSymbolicLink(proc(pid, "exe")).toString();
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            // A process reaped between open and read: the read fails with ESRCH ("No such process").
            if ("No such process".equals(e.getMessage())) {
                return null;
            }
            throw e;
        }
    }

    static boolean exists(int pid) {
        return Files.exists(proc(pid, "stat"));
    }

    /** The one-letter state from /proc/PID/stat, or null when gone. */
    static String stateLetter(int pid) throws IOException {
        try {
            String s = Files.readString(proc(pid, "stat"));
            return s.substring(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            if ("No such process".equals(e.getMessage())) {
                return null;
            }
            throw e;
        }
    }

    /** Alive and not a zombie. */
    static boolean running(int pid) throws IOException {
        String s = stateLetter(pid);
        return s != null && !s.equals("Z") && !s.equals("X");
    }

    static String wchan(int pid) throws IOException {
        try {
            return Files.readString(proc(pid, "wchan")).trim();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** A field of /proc/PID/status ("SigBlk", ...). */
    static String status(int pid, String field) throws IOException {
        for (String l : Files.readAllLines(proc(pid, "status"))) {
            if (l.startsWith(field + ":")) {
                return l.substring(field.length() + 1).trim();
            }
        }
        throw new AssertionError("no " + field + " in /proc/" + pid + "/status");
    }

    static State state(int pid, boolean withCmdline) throws IOException {
        Map<Integer, Fd> fds = new TreeMap<>();
        try (Stream<Path> s = Files.list(proc(pid, "fd"))) {
            for (Path p : s.toList()) {
                int fd = Integer.parseInt(p.getFileName().toString());
                String flags = "";
                for (String l : Files.readAllLines(proc(pid, "fdinfo/" + fd))) {
                    if (l.startsWith("flags:")) {
                        flags = l.substring(6).trim();
                    }
                }
                fds.put(fd, new Fd(Files.readSymbolicLink(p).toString(), flags));
            }
        }
        String cmdline = withCmdline
                ? new String(Files.readAllBytes(proc(pid, "cmdline")), StandardCharsets.UTF_8).replace('\0', ' ') : null;
        return new State(pid, exe(pid), cmdline, Files.readString(proc(pid, "comm")).trim(),
                Files.readSymbolicLink(proc(pid, "cwd")).toString(), status(pid, "SigBlk"), status(pid, "SigIgn"),
                status(pid, "SigCgt"), fds);
    }

    /** The file position of {@code fd} (fdinfo "pos"). */
    static long fdPos(int pid, int fd) throws IOException {
        for (String l : Files.readAllLines(proc(pid, "fdinfo/" + fd))) {
            if (l.startsWith("pos:")) {
                return Long.parseLong(l.substring(4).trim());
            }
        }
        throw new AssertionError("no pos in /proc/" + pid + "/fdinfo/" + fd);
    }

    /** Pids of live (non-zombie) processes whose exe is {@code exe}. */
    static List<Integer> withExe(String exe) throws IOException {
        List<Integer> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                int pid = Integer.parseInt(n);
                try {
                    if (exe.equals(exe(pid)) && running(pid)) {
                        out.add(pid);
                    }
                } catch (IOException ignored) {
                    // raced with its exit
                }
            }
        }
        return out;
    }

    /**
     * SIGKILLs {@code pid} if it still runs {@code exe} (never a recycled pid), then waits until it
     * is gone or a zombie (its parent reaps it: restore, or init for an orphan).
     */
    static void killIfExe(int pid, String exe) throws InterruptedException {
        try {
            if (exe == null || !exe.equals(exe(pid))) {
                return;
            }
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (running(pid) && System.nanoTime() < end) {
                Thread.sleep(10);
            }
        } catch (IOException ignored) {
            // gone meanwhile
        }
    }

    /** Waits until {@code pid} is no longer a live process (a zombie counts as gone). */
    static void awaitGone(int pid) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        while (running(pid)) {
            if (System.nanoTime() > end) {
                throw new AssertionError("process " + pid + " still runs");
            }
            Thread.sleep(10);
        }
    }
}
