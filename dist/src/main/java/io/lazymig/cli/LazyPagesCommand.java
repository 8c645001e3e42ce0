package io.lazymig.cli;

import io.lazymig.lazyclient.LazyPagesDaemon;
import io.lazymig.lazyclient.Stats;
import java.io.PrintStream;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code lazymig lazy-pages --address SOCK -D DIR [...]}: the lazy-pages daemon. */
final class LazyPagesCommand implements Command {
    /** Fault-around window default: 64 KiB (KERNEL-FACTS §5: 16 pages cut the first pass tenfold). */
    static final int DEFAULT_FAULT_AROUND = 64 * 1024;
    /** Background chunk default: 1 MiB (UFFDIO_COPY saturates from 64 KiB on). */
    static final int DEFAULT_CHUNK = 1 << 20;
    /** Background chunks in flight from a remote server: enough to cover a round trip at link speed. */
    static final int DEFAULT_IN_FLIGHT = 4;

    private final PrintStream out;

    LazyPagesCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "lazy-pages";
    }

    @Override
    public String summary() {
        return "serve the lazy memory of restored processes (the daemon restore --lazy-pages hands them to)";
    }

    static Options options() {
        Options o = CliOptions.common();
        o.addOption(Option.builder().longOpt("address").hasArg().argName("SOCK").desc("unix socket restore connects to").build());
        o.addOption(Option.builder().longOpt("lazy-client").hasArg().argName("ADDR")
                .desc("fetch the pages from the lazy server at ADDR").build());
        o.addOption(Option.builder().longOpt("lazy-server").desc("serve the pages of -D to lazy clients").build());
        o.addOption(Option.builder().longOpt("port").hasArg().argName("PORT").desc("TCP port of the lazy server").build());
        o.addOption(Option.builder().longOpt("fault-around").hasArg().argName("BYTES")
                .desc("bytes fetched around each fault, a power of two (default " + DEFAULT_FAULT_AROUND + ")").build());
        o.addOption(Option.builder().longOpt("chunk").hasArg().argName("BYTES")
                .desc("background chunk size (default " + DEFAULT_CHUNK + ")").build());
        o.addOption(Option.builder().longOpt("chunks-in-flight").hasArg().argName("N")
                .desc("background chunks in flight from a lazy server (default " + DEFAULT_IN_FLIGHT + ")").build());
        o.addOption(Option.builder().longOpt("lazy-idle-timeout").hasArg().argName("SECONDS")
                .desc("start the background transfer after this long without faults, not when restore finishes").build());
        o.addOption(Option.builder().longOpt("stats-file").hasArg().argName("FILE").desc("write JSON statistics at the end").build());
        return o;
    }

    @Override
    public int run(String[] args) throws Exception {
        Options options = options();
        CommandLine cl = CliOptions.parse(options, args);
        if (cl.hasOption("help")) {
            CliOptions.help(out, "lazymig lazy-pages --address SOCK -D DIR [--lazy-client ADDR --port PORT]",
                    "Takes the userfaultfds of restored processes and fills their memory until every page is in.",
                    options);
            return 0;
        }
        CliOptions.configureLogging(cl);
        Path dir = CliOptions.requireDir(cl);
        if (cl.hasOption("lazy-server") || cl.hasOption("lazy-client")) {
            throw new UsageException("--lazy-server and --lazy-client (two hosts) arrive with issue 5; "
                    + "today lazy-pages serves the pages of -D on this host");
        }
        if (!cl.hasOption("address")) {
            throw new UsageException("--address SOCK is required");
        }
        int faultAround = cl.hasOption("fault-around") ? CliOptions.parseInt(cl.getOptionValue("fault-around"), "--fault-around")
                : DEFAULT_FAULT_AROUND;
        int chunk = cl.hasOption("chunk") ? CliOptions.parseInt(cl.getOptionValue("chunk"), "--chunk") : DEFAULT_CHUNK;
        int inFlight = cl.hasOption("chunks-in-flight")
                ? CliOptions.parseInt(cl.getOptionValue("chunks-in-flight"), "--chunks-in-flight") : DEFAULT_IN_FLIGHT;
        int idle = cl.hasOption("lazy-idle-timeout")
                ? CliOptions.parseInt(cl.getOptionValue("lazy-idle-timeout"), "--lazy-idle-timeout") : 0;
        LazyPagesDaemon.Options o;
        try {
            o = new LazyPagesDaemon.Options(Path.of(cl.getOptionValue("address")), dir, faultAround, chunk, inFlight, idle, null);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Stats stats = LazyPagesDaemon.runLocal(o, System.console() != null ? out : null);
        if (cl.hasOption("stats-file")) {
            stats.writeJson(Path.of(cl.getOptionValue("stats-file")));
        }
        return 0;
    }
}
