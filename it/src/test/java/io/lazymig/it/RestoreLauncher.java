package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code $lazymig.root/lazymig} as a subprocess (dump, restore, lazy-pages), its stdout and
 * stderr into files so a long-running restore never blocks on a full pipe.
 */
final class RestoreLauncher {
    private RestoreLauncher() {
    }

    /** A finished command. */
    record Result(List<String> args, int exit, String stdout, String stderr) {
        /** The lines on stderr saying "lazymig COMMAND: ..." (the one-line error messages). */
        List<String> errorLines() {
            return stderr.lines().filter(l -> l.startsWith("lazymig ")).toList();
        }

        @Override
        public String toString() {
            return "lazymig " + String.join(" ", args) + " -> " + exit + "\nstdout:\n" + stdout + "stderr:\n" + stderr;
        }
    }

    /** A command running in the background, in a process group of its own; {@link #close()} kills the group if it still runs. */
    static final class Running implements AutoCloseable {
        final Process process;
        final Path log;
        final List<String> args;
        private final ChildGroup group;

        private Running(ChildGroup group, Path log, List<String> args) {
            this.group = group;
            this.process = group.process;
            this.log = log;
            this.args = args;
        }

        String log() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(cannot read " + log + ": " + e + ")";
            }
        }

        /** Waits until the log holds {@code text}; fails if the command exits first. */
        String awaitLog(String text) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
            while (System.nanoTime() < end) {
                String l = log();
                if (l.contains(text)) {
                    return l;
                }
                if (!process.isAlive() && !log().contains(text)) {
                    fail("lazymig " + String.join(" ", args) + " exited (" + process.exitValue() + ") without logging '"
                            + text + "':\n" + log());
                }
                Thread.sleep(10);
            }
            throw new AssertionError("lazymig " + String.join(" ", args) + " did not log '" + text + "':\n" + log());
        }

        /** Waits for the exit status; a command that does not exit in time is killed with its group, and fails the test. */
        int awaitExit() throws InterruptedException {
            if (!group.awaitExit(TimeUnit.MILLISECONDS.toSeconds(RestoreWorkload.PATIENCE_MS))) {
                fail("lazymig " + String.join(" ", args) + " did not exit (killed with its process group):\n" + log());
            }
            return process.exitValue();
        }

        @Override
        public void close() throws InterruptedException {
            group.close();
        }
    }

    /** Starts {@code lazymig lazy-pages --address SOCK -D IMAGES ARGS...} and waits until it listens. */
    static Running lazyPages(Path log, Path socket, Path images, String... args) throws IOException, InterruptedException {
        Running r = startLazyPages(log, socket, images, args);
        awaitListening(socket, r);
        return r;
    }

    /** Starts {@code lazymig lazy-pages --address SOCK -D IMAGES ARGS...}, without waiting for anything. */
    static Running startLazyPages(Path log, Path socket, Path images, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("lazy-pages", "--address", socket.toString(), "-D", images.toString(),
                "-v", "3"));
        a.addAll(List.of(args));
        return start(log, a.toArray(String[]::new));
    }

    /** Waits until a unix socket listens at {@code path} (/proc/net/unix: flag __SO_ACCEPTCON). */
    static void awaitListening(Path path, Running by) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RestoreWorkload.PATIENCE_MS);
        while (System.nanoTime() < end) {
            for (String l : Files.readAllLines(Path.of("/proc/net/unix"))) {
                String[] f = l.trim().split("\\s+");
                if (f.length == 8 && f[7].equals(path.toString()) && (Integer.parseInt(f[3], 16) & 0x10000) != 0) {
                    return;
                }
            }
            if (!by.process.isAlive()) {
                fail("lazymig " + String.join(" ", by.args) + " exited (" + by.process.exitValue() + ") before listening:\n"
                        + by.log());
            }
            Thread.sleep(10);
        }
        throw new AssertionError("nothing listens at " + path + ":\n" + by.log());
    }

    static Path launcher() {
        Path p = RestoreWorkload.root().resolve("lazymig");
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException("launcher " + p + " is missing");
        }
        return p;
    }

    private static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher().toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs a command to its end (a hang fails the test). */
    static Result run(Path dir, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "lazymig-", ".stdout");
        Path err = Files.createTempFile(dir, "lazymig-", ".stderr");
        try (ChildGroup p = ChildGroup.start(new ProcessBuilder(command(args)).redirectOutput(out.toFile())
                .redirectError(err.toFile()))) {
            if (!p.awaitExit(120)) {
                fail("lazymig " + String.join(" ", args) + " did not finish in 120 s (killed):\n" + Files.readString(err));
            }
            return new Result(List.of(args), p.process.exitValue(), Files.readString(out), Files.readString(err));
        }
    }

    /**
     * Starts {@code sh -c SCRIPT} in the background (its own process group), where the script runs
     * the launcher named {@code $LAZYMIG} with the redirections a test needs (an inherited fd).
     */
    static Running startInShell(Path log, String script) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("LAZYMIG", launcher().toString());
        return new Running(ChildGroup.start(pb), log, List.of("sh", "-c", script));
    }

    /** Starts a command in the background, stdout and stderr into {@code log}. */
    static Running start(Path log, String... args) throws IOException {
        return start(log, Map.of(), args);
    }

    /** Starts a command in the background with {@code env} added to its environment, stdout and stderr into {@code log}. */
    static Running start(Path log, Map<String, String> env, String... args) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command(args)).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return new Running(ChildGroup.start(pb), log, List.of(args));
    }
}
