package io.lazymig.it;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child command in a process group (and session) of its own, so that a bound that fires kills
 * everything it started, grandchildren included — a hung {@code criu} under its wrapper script, a
 * restored process under restore — and not only the direct child. {@code setsid} does not fork
 * here (a child of the JVM is never a group leader), so the child's pid is the group's id.
 */
final class ChildGroup implements AutoCloseable {
    final Process process;
    final List<String> command;

    private ChildGroup(Process process, List<String> command) {
        this.process = process;
        this.command = command;
    }

    /** Starts {@code command} in a new session; stdin from /dev/null, stdout and stderr as {@code pb} says. */
    static ChildGroup start(ProcessBuilder pb) throws IOException {
        List<String> command = List.copyOf(pb.command());
        List<String> wrapped = new ArrayList<>(List.of("setsid"));
        wrapped.addAll(command);
        pb.command(wrapped);
        if (pb.redirectInput() == ProcessBuilder.Redirect.PIPE) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        return new ChildGroup(pb.start(), command);
    }

    /** Runs {@code command} to its end within {@code timeoutSeconds}, stdout and stderr together. */
    static Finished run(long timeoutSeconds, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("lazymig-child-", ".out");
        try (ChildGroup c = start(new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()))) {
            boolean done = c.awaitExit(timeoutSeconds);
            return new Finished(done ? c.process.exitValue() : -1, !done, Files.readString(out));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** A command run to its end, or killed (with its group) when its bound fired. */
    record Finished(int exit, boolean timedOut, String output) {
    }

    /** Waits up to {@code seconds} for the child's exit; on expiry kills its whole group and returns false. */
    boolean awaitExit(long seconds) throws InterruptedException {
        if (process.waitFor(seconds, TimeUnit.SECONDS)) {
            return true;
        }
        killGroup();
        return false;
    }

    /** SIGKILL to every process of the group, then reaps the child (bounded: a killed child exits at once). */
    void killGroup() throws InterruptedException {
        long pgid = process.pid();
        try {
            Process kill = new ProcessBuilder("kill", "-KILL", "--", "-" + pgid).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            // No kill(1): fall back to the tree the JVM can see.
            process.descendants().forEach(ProcessHandle::destroyForcibly);
        }
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            killGroup();
        }
    }
}
