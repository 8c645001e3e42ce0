package io.lazymig.cli;

import io.lazymig.migrate.Migration;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code lazymig migrate -t PID --to ADDR-A [--port P] [--auth-key F] [--leave-running] [--any-pid]}. */
final class MigrateCommand implements Command {
    private final PrintStream out;

    MigrateCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "migrate";
    }

    @Override
    public String summary() {
        return "move a running process to the host where 'lazymig agent' runs, in one command";
    }

    static Options options() {
        Options o = CliOptions.common();
        o.addOption(Option.builder("t").longOpt("tree").hasArg().argName("PID").desc("the process to migrate").build());
        o.addOption(Option.builder().longOpt("to").hasArg().argName("ADDR").desc("the destination host, where 'lazymig agent' runs").build());
        o.addOption(Option.builder().longOpt("port").hasArg().argName("PORT")
                .desc("the agent's TCP port (default " + AgentCommand.DEFAULT_PORT + ")").build());
        o.addOption(Option.builder().longOpt("leave-running").desc("resume the source once every page is on the destination "
                + "(default: kill it)").build());
        o.addOption(Option.builder().longOpt("any-pid").desc("let the destination restore the process under another pid when "
                + "its pid is taken there").build());
        o.addOption(DumpCommand.tcpEstablishedOption());
        o.addOption(DumpCommand.shareCowOption());
        o.addOption(Option.builder().longOpt("stats-file").hasArg().argName("FILE")
                .desc("write the destination daemon's JSON statistics at the end (as lazy-pages --stats-file)").build());
        CarryOption.add(o);
        ExternalOptions.addInherit(o, true);
        AuthOptions.add(o);
        return o;
    }

    @Override
    public int run(String[] args) throws Exception {
        Options options = options();
        CommandLine cl = CliOptions.parse(options, args);
        if (cl.hasOption("help")) {
            CliOptions.help(out, "lazymig migrate -t PID --to ADDR [--port PORT] [--auth-key FILE] [--leave-running] [--any-pid] [--tcp-established] [--share-cow] [--carry-limit SIZE] [--stats-file FILE] [--inherit-fd PATH:pipe:[INODE]]...",
                    "Checks the agent on ADDR is ready, freezes the process, sends its images, serves its pages until "
                            + "the destination has them all, then kills it (or resumes it with --leave-running). Prints "
                            + "the downtime. -D: where the images are kept during the migration (default /tmp).", options);
            return 0;
        }
        CliOptions.configureLogging(cl);
        int pid = CliOptions.requirePositiveInt(cl, "t", "-t PID");
        if (!cl.hasOption("to")) {
            throw new UsageException("--to ADDR is required (the host where 'lazymig agent' runs)");
        }
        if (cl.hasOption("leave-running") && cl.hasOption("tcp-established")) {
            // the destination carries the connections alive: a source resumed with them would be a
            // second end of the same connections, both sending with the same sequence numbers
            throw new UsageException("--leave-running and --tcp-established exclude each other: the connections "
                    + "live on at the destination");
        }
        int port = cl.hasOption("port") ? LazyPagesCommand.port(cl) : AgentCommand.DEFAULT_PORT;
        InetSocketAddress agent = new InetSocketAddress(cl.getOptionValue("to"), port);
        if (agent.isUnresolved()) {
            throw new UsageException("--to: cannot resolve '" + cl.getOptionValue("to") + "'");
        }
        ClassPreloader.loadAll(true); // before the freeze: no class is read from a jar while the process stands still
        Path work = Path.of(cl.hasOption("D") ? cl.getOptionValue("D") : System.getProperty("java.io.tmpdir"));
        Migration.Result r = new Migration(new Migration.Options(pid, agent, AuthOptions.key(cl), cl.hasOption("leave-running"),
                cl.hasOption("any-pid"), work, CarryOption.limit(cl), ExternalOptions.inherit(cl, true))
                .withTcpEstablished(cl.hasOption("tcp-established")).withShareCow(cl.hasOption("share-cow")), out,
                System.console() != null).run();
        if (cl.hasOption("stats-file")) {
            if (r.statsJson() == null) {
                out.println("migrate: no statistics to write to " + cl.getOptionValue("stats-file")
                        + ": the agent was lost before it sent them");
            } else {
                Files.writeString(Path.of(cl.getOptionValue("stats-file")), r.statsJson() + "\n");
            }
        }
        return 0;
    }
}
