package io.lazymig.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * {@code lazymig}: dispatches to the subcommands, CRIU style. Exit status: the command's own,
 * 1 for a usage error or a failure, with one clear line on stderr.
 */
public final class Main {
    private final Map<String, Command> commands = new LinkedHashMap<>();
    private final PrintStream out;
    private final PrintStream err;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        for (Command c : List.of(new DumpCommand(out), new RestoreCommand(out), new LazyPagesCommand(out),
                new MigrateCommand(out), new AgentCommand(out), new KeygenCommand(out), new CheckCommand(out), new GuardCommand(out))) {
            commands.put(c.name(), c);
        }
    }

    public static void main(String[] args) {
        int status = new Main(System.out, System.err).run(args);
        System.out.flush();
        System.exit(status);
    }

    int run(String[] args) {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? 1 : 0;
        }
        if (args[0].equals("-V") || args[0].equals("--version")) {
            out.println("lazymig " + version());
            return 0;
        }
        Command command = commands.get(args[0]);
        if (command == null) {
            err.println("lazymig: unknown command '" + args[0] + "'; see 'lazymig --help'");
            return 1;
        }
        try {
            return command.run(Arrays.copyOfRange(args, 1, args.length));
        } catch (UsageException e) {
            err.println("lazymig " + command.name() + ": " + e.getMessage());
            return 1;
        } catch (Exception | LinkageError e) {
            err.println("lazymig " + command.name() + ": " + describe(e));
            return 1;
        }
    }

    /** One line for the operator: the message, or the exception type when there is none. */
    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private void usage(PrintStream s) {
        s.println("usage: lazymig COMMAND [OPTIONS]");
        s.println();
        s.println("Post-copy migration of running Linux processes between hosts.");
        s.println();
        s.println("Commands:");
        for (Command c : commands.values()) {
            s.printf("  %-12s %s%n", c.name(), c.summary());
        }
        s.println();
        s.println("  --help       this text; 'lazymig COMMAND --help' for a command's options");
        s.println("  --version    the version");
    }

    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
