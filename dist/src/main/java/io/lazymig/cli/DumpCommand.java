package io.lazymig.cli;

import io.lazymig.dump.Dumper;
import java.io.PrintStream;
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
        return o;
    }

    @Override
    public int run(String[] args) throws Exception {
        Options options = options();
        CommandLine cl = CliOptions.parse(options, args);
        if (cl.hasOption("help")) {
            CliOptions.help(out, "lazymig dump -t PID -D DIR [--leave-running] [-v N] [-o LOG]",
                    "Freezes the process, writes its checkpoint into DIR, then kills it (or lets it run with --leave-running).",
                    options);
            return 0;
        }
        CliOptions.configureLogging(cl);
        int pid = CliOptions.requirePositiveInt(cl, "t", "-t PID");
        Path dir = CliOptions.requireDir(cl);
        Dumper.Result r = Dumper.dump(new Dumper.Options(pid, dir, cl.hasOption("leave-running")));
        out.printf("dump: process %d into %s: %d pages (%d lazy), frozen %.1f ms%n", pid, dir, r.pages(), r.lazyPages(),
                r.frozenNanos() / 1e6);
        return 0;
    }
}
