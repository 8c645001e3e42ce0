package io.lazymig.cli;

import io.lazymig.dump.Dumper;
import io.lazymig.migrate.DumpWarmup;
import io.lazymig.migrate.FrozenSource;
import io.lazymig.migrate.Warmup;
import io.lazymig.protocol.AuthKey;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code lazymig dump -t PID -D DIR [--leave-running] [-v N] [-o LOG]}. */
final class DumpCommand implements Command {
    private final PrintStream out;

    DumpCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "dump";
    }

    @Override
    public String summary() {
        return "checkpoint a running process into an image directory (CRIU's format)";
    }

    static Options options() {
        Options o = CliOptions.common();
        o.addOption(Option.builder("t").longOpt("tree").hasArg().argName("PID").desc("the process to dump").build());
        o.addOption(Option.builder().longOpt("leave-running").desc("let the process run on after the dump (default: kill it)").build());
        o.addOption(Option.builder().longOpt("lazy-pages")
                .desc("write no lazy pages; serve them from the frozen process until every client has them").build());
        o.addOption(Option.builder().longOpt("port").hasArg().argName("PORT").desc("TCP port to serve lazy pages on").build());
        o.addOption(Option.builder().longOpt("address").hasArg().argName("BIND-ADDR")
                .desc("address to serve lazy pages on (default all)").build());
        o.addOption(tcpEstablishedOption());
        o.addOption(shareCowOption());
        o.addOption(Option.builder().longOpt("no-share-cow")
                .desc("dump every process's copy-on-write shared pages on their own (a tree then takes N copies on the "
                        + "destination)").build());
        CarryOption.add(o);
        ExternalOptions.addExternal(o);
        AuthOptions.add(o);
        return o;
    }

    /** --tcp-established (dump, restore, migrate): established TCP connections carried alive (CRIU's meaning). */
    static Option tcpEstablishedOption() {
        return Option.builder().longOpt("tcp-established")
                .desc("carry established TCP connections alive with TCP_REPAIR (their local address must move to the "
                        + "destination with the process) instead of restoring them closed").build();
    }

    /** --share-cow (dump, migrate): a tree's private memory shared copy-on-write is dumped once and restored shared. */
    static Option shareCowOption() {
        return Option.builder().longOpt("share-cow")
                .desc("dump a tree's private memory still shared copy-on-write once and restore it shared, so the tree "
                        + "needs its memory once on the destination; its pages then travel eagerly, inside the downtime "
                        + "(the default without --lazy-pages; with it, and for migrate, each process's copy comes lazily)")
                .build();
    }

    @Override
    public int run(String[] args) throws Exception {
        Options options = options();
        CommandLine cl = CliOptions.parse(options, args);
        if (cl.hasOption("help")) {
            CliOptions.help(out, "lazymig dump -t PID -D DIR [--leave-running] [--lazy-pages --port PORT [--address BIND]] [--tcp-established] [--share-cow | --no-share-cow] [--carry-limit SIZE] [--external pipe:[INODE]]... [-v N] [-o LOG]",
                    "Freezes the process, writes its checkpoint into DIR, then kills it (or lets it run with --leave-running).",
                    options);
            return 0;
        }
        CliOptions.configureLogging(cl);
        int pid = CliOptions.requirePositiveInt(cl, "t", "-t PID");
        Path dir = CliOptions.requireDir(cl);
        Dumper.WhileFrozen lazy = null;
        if (cl.hasOption("lazy-pages")) {
            int port = LazyPagesCommand.port(cl);
            String bind = cl.hasOption("address") ? cl.getOptionValue("address") : "0.0.0.0";
            AuthKey key = AuthOptions.key(cl);
            lazy = (cp, frozenAt) -> serve(cp, dir, key, new InetSocketAddress(bind, port));
            DumpWarmup.run(Warmup.defaultDir(), DumpWarmup.targetPath()); // its freeze is the downtime
            io.lazymig.protocol.TlsWarmup.finish(); // not beside the freeze and the serving
        } else if (cl.hasOption("port") || cl.hasOption("address")) {
            throw new UsageException("--port and --address go with --lazy-pages");
        }
        if (cl.hasOption("share-cow") && cl.hasOption("no-share-cow")) {
            throw new UsageException("--share-cow and --no-share-cow exclude each other");
        }
        boolean shareCow = cl.hasOption("share-cow") || !cl.hasOption("no-share-cow") && Dumper.Options.shareCowByDefault(lazy);
        Dumper.Result r = Dumper.dump(new Dumper.Options(pid, dir, cl.hasOption("leave-running"), lazy,
                CarryOption.limit(cl), ExternalOptions.externals(cl)).withTcpEstablished(cl.hasOption("tcp-established"))
                .withShareCow(shareCow));
        out.printf("dump: process %d into %s: %d pages (%d lazy), frozen %.1f ms%s%n", pid, dir, r.pages(), r.lazyPages(),
                r.frozenNanos() / 1e6, io.lazymig.dump.SocketSummary.of(r.checkpoint()));
        return 0;
    }

    /** dump --lazy-pages: serves the frozen process until every client has all its pages. */
    private void serve(io.lazymig.images.Checkpoint cp, Path dir, AuthKey key, InetSocketAddress bind) throws java.io.IOException {
        try (FrozenSource source = FrozenSource.start(cp, dir, key, bind)) {
            out.println("dump: serving the lazy pages of process " + cp.root().pid() + " on " + source.address()
                    + " until every client has them");
            out.flush();
            source.awaitAllClientsDone();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.IOException("interrupted while serving the lazy pages of process " + cp.root().pid());
        }
    }
}
