package io.lazymig.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    /** A command running in the background; {@link #close()} kills it if it still runs. */
    static final class Running implements AutoCloseable {
        final Process process;
        final Path log;
        final List<String> args;

        private Running(Process process, Path log, List<String> args) {
            this.process = process;
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

        /** Waits for the exit status. */
        int awaitExit() throws InterruptedException {
            if (!process.waitFor(RestoreWorkload.PATIENCE_MS, TimeUnit.MILLISECONDS)) {
                fail("lazymig " + String.join(" ", args) + " did not exit:\n" + log());
            }
            return process.exitValue();
        }

        @Override
        public void close() throws InterruptedException {
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Starts {@code lazymig lazy-pages --address SOCK -D IMAGES ARGS...} and waits until it listens. */
    static Running lazyPages(Path log, Path socket, Path images, String... args) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of("lazy-pages", "--address", socket.toString(), "-D", images.toString(),
                "-v", "3"));
        a.addAll(List.of(args));
        Running r = start(log, a.toArray(String[]::new));
        awaitListening(socket, r);
        return r;
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
        Process p = new ProcessBuilder(command(args)).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                fail("lazymig " + String.join(" ", args) + " did not finish in 120 s:\n" + Files.readString(err));
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        return new Result(List.of(args), p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Starts a command in the background, stdout and stderr into {@code log}. */
    static Running start(Path log, String... args) throws IOException {
        Process p = new ProcessBuilder(command(args)).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new Running(p, log, List.of(args));
    }
}
