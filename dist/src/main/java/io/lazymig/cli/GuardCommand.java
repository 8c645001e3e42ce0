package io.lazymig.cli;

import io.lazymig.jni.UnixSocket;
import io.lazymig.migrate.DowntimePriority;
import io.lazymig.migrate.StandbyGuard;
import io.lazymig.restore.LazyHandoff;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig restore-guard --from SOCK --lazy-deadline S} (internal): the guard of a detached
 * lazy restore. {@code restore -d} starts it in its own session, hands it the uffd and the daemon
 * connection over SCM_RIGHTS, and returns; the guard holds them until every page is in.
 */
final class GuardCommand implements Command {
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
        try {
            LazyHandoff.rehearseReceive(); // before the wait, not after it: the agent waits for the acknowledgement
        } catch (IOException | RuntimeException e) {
            LoggerFactory.getLogger("lazymig.restore").debug("restore-guard: no rehearsal of the hand-over: {}",
                    e.getMessage());
        }
        LazyHandoff handoff;
        // The handover at the agent's priority for the downtime: the agent releases the process only
        // once this acknowledged, and meanwhile its restore's threads (100 of a process's, at that
        // priority) and the host's others kept this idle JVM waiting for a CPU 5-45 ms in make bench.
        try (DowntimePriority p = DowntimePriority.raise("the guard's handover");
             UnixSocket from = UnixSocket.connect(Path.of(cl.getOptionValue("from")))) {
            handoff = LazyHandoff.receiveFrom(from);
            ByteBuffer ack = ByteBuffer.allocateDirect(1);
            from.sendFully(ack);
        }
        boolean served = handoff.guard(Duration.ofSeconds(CliOptions.parseInt(cl.getOptionValue("lazy-deadline"), "--lazy-deadline")));
        return served ? 0 : 1;
    }

    /** Starts the guard process in its own session and hands {@code handoff} to it. */
    static void start(LazyHandoff handoff, Duration deadline, String logFile) throws IOException {
        StandbyGuard.start(Main.class.getName(), deadline, logFile == null ? null : Path.of(logFile)).takeWhole(handoff);
    }
}
