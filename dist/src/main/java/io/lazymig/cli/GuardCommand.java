package io.lazymig.cli;

import io.lazymig.jni.Poll;
import io.lazymig.jni.UnixSocket;
import io.lazymig.restore.LazyHandoff;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code lazymig restore-guard --from SOCK --lazy-deadline S} (internal): the guard of a detached
 * lazy restore. {@code restore -d} starts it in its own session, hands it the uffd and the daemon
 * connection over SCM_RIGHTS, and returns; the guard holds them until every page is in.
 */
final class GuardCommand implements Command {
    private static final int HANDOVER_TIMEOUT_MS = 30_000;

    private final PrintStream out;

    GuardCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "restore-guard";
    }

    @Override
    public String summary() {
        return "(internal) the guard of 'restore -d --lazy-pages'";
    }

    @Override
    public int run(String[] args) throws Exception {
        Options options = CliOptions.common();
        options.addOption(Option.builder().longOpt("from").hasArg().argName("SOCK").build());
        options.addOption(Option.builder().longOpt("lazy-deadline").hasArg().argName("SECONDS").build());
        CommandLine cl = CliOptions.parse(options, args);
        CliOptions.configureLogging(cl);
        if (!cl.hasOption("from") || !cl.hasOption("lazy-deadline")) {
            throw new UsageException("restore-guard is started by 'restore -d --lazy-pages', not by hand");
        }
        LazyHandoff handoff;
        try (UnixSocket from = UnixSocket.connect(Path.of(cl.getOptionValue("from")))) {
            handoff = LazyHandoff.receiveFrom(from);
            ByteBuffer ack = ByteBuffer.allocateDirect(1);
            from.sendFully(ack);
        }
        boolean served = handoff.guard(Duration.ofSeconds(CliOptions.parseInt(cl.getOptionValue("lazy-deadline"), "--lazy-deadline")));
        return served ? 0 : 1;
    }

    /** Starts the guard process in its own session and hands {@code handoff} to it. */
    static void start(LazyHandoff handoff, Duration deadline, String logFile) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("lazymig-guard");
        Path sock = dir.resolve("handover");
        try (UnixSocket listener = UnixSocket.listen(sock, UnixSocket.SOCK_STREAM | UnixSocket.SOCK_NONBLOCK, 1)) {
            List<String> cmd = new ArrayList<>(List.of("setsid",
                    ProcessHandle.current().info().command().orElse("java"), "-XX:+UseSerialGC",
                    "-cp", System.getProperty("java.class.path")));
            System.getProperties().forEach((k, v) -> {
                if (k.toString().startsWith("lazymig.")) {
                    cmd.add("-D" + k + "=" + v);
                }
            });
            cmd.addAll(List.of(Main.class.getName(), "restore-guard", "--from", sock.toString(),
                    "--lazy-deadline", Long.toString(deadline.toSeconds())));
            if (logFile != null) {
                cmd.addAll(List.of("-o", logFile, "-v", "3"));
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
            Process guard = pb.start();
            Poll poll = new Poll(1);
            poll.set(0, listener.fd().fd(), Poll.POLLIN);
            if (poll.poll(HANDOVER_TIMEOUT_MS) == 0) {
                guard.destroyForcibly();
                throw new IOException("the restore guard did not start within " + HANDOVER_TIMEOUT_MS / 1000 + " s");
            }
            try (UnixSocket conn = listener.accept()) {
                conn.setNonBlocking(false);
                handoff.transferTo(conn);
                conn.receiveFully(ByteBuffer.allocateDirect(1));
            }
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }
}
