package io.lazymig.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** The options every command shares, CRIU's spellings: -D, -v, -o, --help. */
final class CliOptions {
    private CliOptions() {
    }

    static Options common() {
        Options o = new Options();
        o.addOption(Option.builder("D").longOpt("images-dir").hasArg().argName("DIR").desc("the image directory").build());
        o.addOption(Option.builder("v").hasArg().optionalArg(true).argName("N")
                .desc("verbosity 0..4 (default 2: warnings; -v alone: 3)").build());
        o.addOption(Option.builder("o").longOpt("log-file").hasArg().argName("FILE").desc("write the log to FILE").build());
        o.addOption(Option.builder("h").longOpt("help").desc("this text").build());
        return o;
    }

    static CommandLine parse(Options options, String[] args) throws UsageException {
        try {
            CommandLine cl = new DefaultParser().parse(options, args);
            if (!cl.getArgList().isEmpty()) {
                throw new UsageException("unexpected argument '" + cl.getArgList().get(0) + "'");
            }
            return cl;
        } catch (ParseException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static void configureLogging(CommandLine cl) throws UsageException {
        int verbosity = 2;
        if (cl.hasOption("v")) {
            String v = cl.getOptionValue("v");
            verbosity = v == null ? 3 : parseInt(v, "-v");
        }
        Logging.configure(verbosity, cl.getOptionValue("o"));
    }

    static int requirePositiveInt(CommandLine cl, String opt, String what) throws UsageException {
        if (!cl.hasOption(opt)) {
            throw new UsageException(what + " is required");
        }
        int v = parseInt(cl.getOptionValue(opt), what);
        if (v <= 0) {
            throw new UsageException(what + ": must be positive, got " + v);
        }
        return v;
    }

    static Path requireDir(CommandLine cl) throws UsageException {
        if (!cl.hasOption("D")) {
            throw new UsageException("-D DIR is required");
        }
        return Path.of(cl.getOptionValue("D"));
    }

    static int parseInt(String s, String what) throws UsageException {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new UsageException(what + ": not a number: '" + s + "'");
        }
    }

    static void help(PrintStream out, String usage, String header, Options options) {
        PrintWriter w = new PrintWriter(out, true);
        new HelpFormatter().printHelp(w, 100, usage, header, options, 2, 4, null);
        w.flush();
    }
}
