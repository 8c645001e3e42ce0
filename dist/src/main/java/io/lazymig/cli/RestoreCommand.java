package io.lazymig.cli;

import io.lazymig.jni.Ptrace;
import io.lazymig.jni.WaitStatus;
import io.lazymig.migrate.Warmup;
import io.lazymig.restore.Restorer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig restore -D DIR [--lazy-pages --address SOCK] [-d] [--pidfile FILE] [--any-pid]
 * [--lazy-deadline S] [-v N] [-o LOG]}. Without -d it waits for the restored process and exits
 * with its status, as criu restore does.
 */
final class RestoreCommand implements Command {
    /** How long restore --lazy-pages waits for its daemon (and so for its images). */
    static final int DEFAULT_WAIT_DAEMON = 120;
    private static final int PROGRESS_SECONDS = 5;
    private final PrintStream out;

    RestoreCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "restore";
    }

    @Override
    public String summary() {
        return "restore a checkpointed process, eagerly or with its memory from a lazy-pages daemon";
    }

    static Options options() {
        Options o = CliOptions.common();
        o.addOption(Option.builder().longOpt("lazy-pages").desc("leave the lazy memory to the lazy-pages daemon").build());
        o.addOption(Option.builder().longOpt("address").hasArg().argName("SOCK")
                .desc("the lazy-pages daemon's unix socket (with --lazy-pages)").build());
        o.addOption(Option.builder("d").longOpt("restore-detached").desc("return once the process runs").build());
        o.addOption(Option.builder().longOpt("pidfile").hasArg().argName("FILE").desc("write the restored pid to FILE").build());
        o.addOption(Option.builder().longOpt("any-pid").desc("restore under another pid when the original one is taken").build());
        o.addOption(Option.builder().longOpt("wait-daemon").hasArg().argName("SECONDS")
                .desc("with --lazy-pages: wait this long for the daemon's socket to appear before reading the images "
                        + "(the daemon fetches them first), so restore may be started before the daemon and the dump "
                        + "(default " + DEFAULT_WAIT_DAEMON + "; 0: do not wait)").build());
        o.addOption(Option.builder().longOpt("lazy-deadline").hasArg().argName("SECONDS")
                .desc("kill the process if no lazy-pages daemon serves it for this long (default 120)").build());
        ExternalOptions.addInherit(o, false);
        o.addOption(ipMapOption());
        o.addOption(DumpCommand.tcpEstablishedOption());
        return o;
    }

    /** --ip-map OLD=NEW, repeatable: sockets bound to the source's address OLD are bound to NEW here. */
    static Option ipMapOption() {
        return Option.builder().longOpt("ip-map").hasArg().argName("OLD=NEW")
                .desc("bind sockets that were bound to address OLD on the source to NEW on this host (repeatable; "
                        + "wildcard addresses stay wildcard)").build();
    }

    static io.lazymig.restore.IpMap ipMap(CommandLine cl) throws UsageException {
        String[] v = cl.getOptionValues("ip-map");
        try {
            return v == null ? io.lazymig.restore.IpMap.NONE : io.lazymig.restore.IpMap.parse(java.util.List.of(v));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    public int run(String[] args) throws Exception {
        Options options = options();
        CommandLine cl = CliOptions.parse(options, args);
        if (cl.hasOption("help")) {
            CliOptions.help(out, "lazymig restore -D DIR [--lazy-pages --address SOCK] [-d] [--pidfile FILE] [--any-pid] "
                    + "[--inherit-fd fd[N]:pipe:[INODE] | PATH:pipe:[INODE]]... [--ip-map OLD=NEW]... [--tcp-established]",
                    "Rebuilds the checkpointed process in DIR and lets it run.", options);
            return 0;
        }
        CliOptions.configureLogging(cl);
        boolean lazy = cl.hasOption("lazy-pages");
        if (lazy && !cl.hasOption("address")) {
            throw new UsageException("--lazy-pages needs --address SOCK (the lazy-pages daemon's socket)");
        }
        if (!lazy && cl.hasOption("address")) {
            throw new UsageException("--address is only for --lazy-pages");
        }
        int deadline = cl.hasOption("lazy-deadline") ? CliOptions.parseInt(cl.getOptionValue("lazy-deadline"), "--lazy-deadline") : 120;
        if (deadline <= 0) {
            throw new UsageException("--lazy-deadline: must be positive");
        }
        int waitDaemon = cl.hasOption("wait-daemon") ? CliOptions.parseInt(cl.getOptionValue("wait-daemon"), "--wait-daemon")
                : lazy ? DEFAULT_WAIT_DAEMON : 0;
        if (waitDaemon < 0 || (waitDaemon > 0 && !lazy)) {
            throw new UsageException("--wait-daemon: seconds >= 0, with --lazy-pages");
        }
        Path address = lazy ? Path.of(cl.getOptionValue("address")) : null;
        if (waitDaemon > 0 && !Files.exists(address)) {
            LoggerFactory.getLogger("lazymig.restore").info("restore: waiting up to {} s for the lazy-pages daemon at {}",
                    waitDaemon, address);
            Warmup.Background warmup = Warmup.inBackground(Warmup.defaultDir(), stubPath(), "restore");
            try {
                awaitSocket(address, Duration.ofSeconds(waitDaemon));
            } finally {
                warmup.stop();
            }
        }
        java.util.List<io.lazymig.restore.InheritFd> inherit = ExternalOptions.inherit(cl, false);
        Path dir = CliOptions.requireDir(cl); // after the wait: the daemon may be the one that makes it
        Restorer.Restored r = Restorer.restore(new Restorer.Options(dir, lazy, address, cl.hasOption("any-pid"), stubPath())
                .withInherit(inherit).withIpMap(ipMap(cl)).withTcpEstablished(cl.hasOption("tcp-established")));
        if (cl.hasOption("pidfile")) {
            Files.writeString(Path.of(cl.getOptionValue("pidfile")), r.pid() + "\n");
        }
        Duration lazyDeadline = Duration.ofSeconds(deadline);
        if (cl.hasOption("d")) {
            if (r.handoff() != null) {
                // The guard must outlive us: a process of its own holds the uffd until every page is in.
                GuardCommand.start(r.handoff(), lazyDeadline, cl.getOptionValue("o"));
            }
            return 0;
        }
        Thread guard = null;
        java.util.concurrent.atomic.AtomicBoolean guardFailed = new java.util.concurrent.atomic.AtomicBoolean();
        if (r.handoff() != null) {
            Logger log = LoggerFactory.getLogger("lazymig.restore");
            guard = new Thread(() -> {
                try {
                    if (!r.handoff().guard(lazyDeadline)) {
                        guardFailed.set(true);
                    }
                } catch (Exception e) {
                    log.error("restore: {}", Main.describe(e));
                }
            }, "lazy-guard");
            guard.setDaemon(true);
            guard.start();
        }
        WaitStatus st = Ptrace.waitpid(r.pid());
        while (!st.terminated()) {
            st = Ptrace.waitpid(r.pid());
        }
        if (guard != null) {
            r.handoff().close();
        }
        if (guardFailed.get()) {
            throw new IOException("no lazy-pages daemon served process " + r.pid() + " in time: it was killed "
                    + "rather than left on missing pages");
        }
        return st.exited() ? st.exitCode() : 128 + st.termSignal();
    }

    /** The stub built beside the library (native/target in the tree; the library's directory when installed). */
    static Path stubPath() {
        String explicit = System.getProperty("lazymig.stub");
        if (explicit != null) {
            return Path.of(explicit);
        }
        String dir = System.getProperty("lazymig.native.dir");
        if (dir != null) {
            return Path.of(dir, "lazymig-stub");
        }
        String lib = System.getProperty("lazymig.library.path");
        return lib == null ? Path.of("lazymig-stub") : Path.of(lib).resolveSibling("lazymig-stub");
    }

    /**
     * Waits until {@code socket} exists (the daemon listens there once it has the images), polling
     * every 5 ms and saying so every few seconds; fails when it does not appear in time.
     */
    private void awaitSocket(Path socket, Duration patience) throws InterruptedException, IOException {
        long start = System.nanoTime();
        long end = start + patience.toNanos();
        long nextNote = start + 200_000_000L; // quiet when the daemon is there already or comes at once
        while (!Files.exists(socket)) {
            long now = System.nanoTime();
            if (now >= end) {
                throw new IOException("no lazy-pages daemon listened at " + socket + " within " + patience.toSeconds()
                        + " s: start 'lazymig lazy-pages --address " + socket + " -D DIR' (it fetches the images)");
            }
            if (now >= nextNote) {
                out.printf("restore: waiting for the lazy-pages daemon at %s (%d s of %d)%n", socket,
                        (now - start) / 1_000_000_000L, patience.toSeconds());
                out.flush();
                nextNote = now + PROGRESS_SECONDS * 1_000_000_000L;
            }
            Thread.sleep(5);
        }
    }
}
