package io.lazymig.cli;

import io.lazymig.migrate.Agent;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code lazymig agent [--port P] [--address BIND] [--auth-key F] [-D WORKDIR] [--lazy-deadline S]}. */
final class AgentCommand implements Command {
    static final int DEFAULT_PORT = 2728;
    static final String DEFAULT_WORKDIR = "/var/lib/lazymig";

    private final PrintStream out;

    AgentCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "agent";
    }

    @Override
    public String summary() {
        return "the destination's service: takes processes 'lazymig migrate' sends, restores and serves them";
    }

    static Options options() {
        Options o = CliOptions.common();
        o.addOption(Option.builder().longOpt("port").hasArg().argName("PORT").desc("TCP port (default " + DEFAULT_PORT + ")").build());
        o.addOption(Option.builder().longOpt("address").hasArg().argName("BIND-ADDR").desc("address to listen on (default all)").build());
        o.addOption(RestoreCommand.ipMapOption());
        o.addOption(Option.builder().longOpt("lazy-deadline").hasArg().argName("SECONDS")
                .desc("kill a migrated process that no lazy-pages daemon serves for this long (default 120)").build());
        o.addOption(Option.builder().longOpt("fault-around").hasArg().argName("BYTES")
                .desc("bytes fetched around each fault (default " + LazyPagesCommand.DEFAULT_FAULT_AROUND + ")").build());
        o.addOption(Option.builder().longOpt("chunk").hasArg().argName("BYTES")
                .desc("background chunk size (default " + LazyPagesCommand.DEFAULT_CHUNK + ")").build());
        o.addOption(Option.builder().longOpt("chunks-in-flight").hasArg().argName("N")
                .desc("background chunks in flight (default " + LazyPagesCommand.DEFAULT_IN_FLIGHT + ")").build());
        o.addOption(Option.builder().longOpt("lazy-idle-timeout").hasArg().argName("SECONDS")
                .desc("start the background transfer after this long without faults, not when the process runs").build());
        o.addOption(Option.builder().longOpt("max-image-size").hasArg().argName("SIZE")
                .desc("refuse a migration whose images exceed SIZE bytes (K, M, G suffixes; default 4G)").build());
        AuthOptions.add(o);
        return o;
    }

    /** SIZE with an optional K, M or G suffix (powers of 1024), positive. */
    static long size(String text) throws UsageException {
        String t = text.trim();
        int shift = 0;
        if (!t.isEmpty()) {
            switch (Character.toUpperCase(t.charAt(t.length() - 1))) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        try {
            long v = Long.parseLong(digits);
            if (v <= 0 || v > (Long.MAX_VALUE >> shift)) {
                throw new UsageException("--max-image-size: " + text + " is not a positive size");
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new UsageException("--max-image-size: " + text + " is not a size (e.g. 512M, 4G)");
        }
    }

    @Override
    public int run(String[] args) throws Exception {
        Options options = options();
        CommandLine cl = CliOptions.parse(options, args);
        if (cl.hasOption("help")) {
            CliOptions.help(out, "lazymig agent [--port PORT] [--address BIND] [--auth-key FILE] [-D WORKDIR] [--lazy-deadline S]",
                    "Waits for 'lazymig migrate' from other hosts; restores each process it is sent, lazily, and serves "
                            + "its pages; a log per migration in WORKDIR/ID/migration.log (default -D " + DEFAULT_WORKDIR + ").",
                    options);
            return 0;
        }
        CliOptions.configureLogging(cl);
        int port = cl.hasOption("port") ? LazyPagesCommand.port(cl) : DEFAULT_PORT;
        String bind = cl.hasOption("address") ? cl.getOptionValue("address") : "0.0.0.0";
        int deadline = cl.hasOption("lazy-deadline") ? CliOptions.parseInt(cl.getOptionValue("lazy-deadline"), "--lazy-deadline") : 120;
        if (deadline <= 0) {
            throw new UsageException("--lazy-deadline: must be positive");
        }
        int faultAround = cl.hasOption("fault-around") ? CliOptions.parseInt(cl.getOptionValue("fault-around"), "--fault-around")
                : LazyPagesCommand.DEFAULT_FAULT_AROUND;
        int chunk = cl.hasOption("chunk") ? CliOptions.parseInt(cl.getOptionValue("chunk"), "--chunk") : LazyPagesCommand.DEFAULT_CHUNK;
        int inFlight = cl.hasOption("chunks-in-flight")
                ? CliOptions.parseInt(cl.getOptionValue("chunks-in-flight"), "--chunks-in-flight") : LazyPagesCommand.DEFAULT_IN_FLIGHT;
        int idle = cl.hasOption("lazy-idle-timeout")
                ? CliOptions.parseInt(cl.getOptionValue("lazy-idle-timeout"), "--lazy-idle-timeout") : 0;
        long maxImages = cl.hasOption("max-image-size") ? size(cl.getOptionValue("max-image-size"))
                : Agent.DEFAULT_MAX_IMAGE_BYTES;
        Path work = Path.of(cl.hasOption("D") ? cl.getOptionValue("D") : DEFAULT_WORKDIR);
        Agent.Options o = new Agent.Options(new InetSocketAddress(bind, port), AuthOptions.key(cl), work,
                RestoreCommand.stubPath(), Duration.ofSeconds(deadline), Main.class.getName(), faultAround, chunk, inFlight, idle,
                maxImages, RestoreCommand.ipMap(cl));
        try (Agent agent = new Agent(o)) {
            long t0 = System.nanoTime();
            int[] classes = ClassPreloader.loadAll(true); // warm: no class is read from a jar inside a downtime
            agent.prepare();
            out.printf("agent: ready on %s, work directory %s (%d classes loaded, warmed up, guard standing by, %d ms)%n",
                    agent.address(), work, classes[0], (System.nanoTime() - t0) / 1_000_000);
            out.flush();
            agent.serve();
        }
        return 0;
    }
}
