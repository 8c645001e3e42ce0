package io.lazymig.migrate;

import io.lazymig.jni.Poll;
import io.lazymig.jni.UnixSocket;
import io.lazymig.restore.LazyHandoff;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A guard process started ahead of need ({@code lazymig restore-guard}, in a session of its own, so
 * it outlives whoever started it): a JVM that has connected back and waits for a lazy handoff. It
 * takes a share of the uffd and of the daemon connection before the restored process is released,
 * and holds them until the daemon reports every page in; if the daemon dies first, the process
 * blocks on its missing pages until another daemon takes it over at the same address, or is
 * killed at the deadline (LazyHandoff.guard). Started before the freeze, so no JVM start lies in
 * the downtime.
 */
public final class StandbyGuard implements AutoCloseable {
    private static final int HANDOVER_TIMEOUT_MS = 30_000;

    private final Process process;
    private final UnixSocket connection;
    private final Path log;

    private StandbyGuard(Process process, UnixSocket connection, Path log) {
        this.process = process;
        this.connection = connection;
        this.log = log;
    }

    /**
     * Starts a guard JVM ({@code mainClass restore-guard --from SOCK --lazy-deadline S}) and waits
     * until it has connected; {@code log} (may be null) is its log file.
     */
    public static StandbyGuard start(String mainClass, Duration deadline, Path log) throws IOException {
        Path dir = Files.createTempDirectory("lazymig-guard");
        Path sock = dir.resolve("handover");
        try (UnixSocket listener = UnixSocket.listen(sock, UnixSocket.SOCK_STREAM | UnixSocket.SOCK_NONBLOCK, 1)) {
            List<String> cmd = new ArrayList<>(List.of("setsid",
                    ProcessHandle.current().info().command().orElse("java"), "-XX:+UseSerialGC", "-Xms8m"));
            cmd.addAll(sharedArchive());
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
            System.getProperties().forEach((k, v) -> {
                if (k.toString().startsWith("lazymig.")) {
                    cmd.add("-D" + k + "=" + v);
                }
            });
            cmd.addAll(List.of(mainClass, "restore-guard", "--from", sock.toString(),
                    "--lazy-deadline", Long.toString(deadline.toSeconds())));
            if (log != null) {
                cmd.addAll(List.of("-o", log.toString(), "-v", "3"));
            }
            Process guard = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            Poll poll = new Poll(1);
            poll.set(0, listener.fd().fd(), Poll.POLLIN);
            if (poll.poll(HANDOVER_TIMEOUT_MS) == 0) {
                guard.destroyForcibly();
                throw new IOException("the restore guard did not start within " + HANDOVER_TIMEOUT_MS / 1000 + " s");
            }
            UnixSocket conn = listener.accept();
            conn.setNonBlocking(false);
            return new StandbyGuard(guard, conn, log);
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * This JVM's class-data archive options (the launcher's lazymig.jsa), for the guard's JVM: with
     * them the classes its handover loads (LazyHandoff, the uffd's, the message's) come pre-parsed,
     * and the agent waits for that handover's acknowledgement before it releases the process. The archive
     * serves the same class path only; the guard's is this one. None when this JVM has none.
     */
    static List<String> sharedArchive() {
        List<String> out = new ArrayList<>();
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:SharedArchiveFile=") || a.startsWith("-Xshare:") || a.startsWith("-Xlog:cds")) {
                out.add(a);
            }
        }
        return out;
    }

    /** The guard's pid. */
    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Hands the guard a share of {@code handoff} and waits for its acknowledgement; the guard is on its own then. */
    public void take(LazyHandoff handoff) throws IOException {
        share(handoff);
        awaitTaken();
    }

    /**
     * The first half of {@link #take}: sends the guard its share of {@code handoff} (the fds in
     * flight from here on: the guard is used up), without waiting for it. The guard JVM, idle until
     * then, takes 2-12 ms to wake and acknowledge in make bench: the agent restores on meanwhile.
     */
    public void share(LazyHandoff handoff) throws IOException {
        handoff.shareWith(connection);
    }

    /** The second half of {@link #take}: waits for the guard's acknowledgement; the guard is on its own then. */
    public void awaitTaken() throws IOException {
        try {
            connection.receiveFully(ByteBuffer.allocateDirect(1));
        } finally {
            connection.close();
        }
    }

    /** Hands the guard {@code handoff} whole (restore -d: this process goes away). */
    public void takeWhole(LazyHandoff handoff) throws IOException {
        take(handoff);
        handoff.close();
    }

    /** A guard never handed anything: it exits when its connection closes. */
    @Override
    public void close() {
        connection.close();
    }
}
