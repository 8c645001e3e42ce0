package io.lazymig.cli;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.XsaveLayout;
import io.lazymig.jni.Cpuid;
import io.lazymig.migrate.Warmup;
import io.lazymig.lazyclient.LazyPagesDaemon;
import io.lazymig.lazyclient.RemotePageSource;
import io.lazymig.lazyclient.Stats;
import io.lazymig.lazyserver.CheckpointPageStore;
import io.lazymig.lazyserver.DestinationImages;
import io.lazymig.lazyserver.LazyServer;
import io.lazymig.lazyserver.PagesFileData;
import io.lazymig.protocol.AuthKey;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.slf4j.LoggerFactory;

/** {@code lazymig lazy-pages --address SOCK -D DIR [...]}: the lazy-pages daemon. */
final class LazyPagesCommand implements Command {
    /** Fault-around window default: 64 KiB (KERNEL-FACTS §5: 16 pages cut the first pass tenfold). */
    static final int DEFAULT_FAULT_AROUND = 64 * 1024;
    /** Background chunk default: 1 MiB (UFFDIO_COPY saturates from 64 KiB on). */
    static final int DEFAULT_CHUNK = 1 << 20;
    /** Background chunks in flight from a remote server: enough to cover a round trip at link speed. */
    static final int DEFAULT_IN_FLIGHT = 32;
    /** How long a daemon started before its lazy server waits for it. */
    static final int DEFAULT_CONNECT_TIMEOUT = 120;
    /** How long a lost lazy server is waited for (reconnecting with backoff) before the daemon gives up. */
    static final int DEFAULT_RECONNECT_TIMEOUT = 120;

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
        o.addOption(Option.builder().longOpt("connect-timeout").hasArg().argName("SECONDS")
                .desc("with --lazy-client: wait this long for the lazy server to listen; with --lazy-server: for the "
                        + "dump's images in -D; so the commands may be started in any order (default "
                        + DEFAULT_CONNECT_TIMEOUT + ")").build());
        o.addOption(Option.builder().longOpt("reconnect-timeout").hasArg().argName("SECONDS")
                .desc("with --lazy-client: how long a lost lazy server is waited for before the daemon gives up and "
                        + "exits 1 (restore's guard then kills the process at its deadline; default "
                        + DEFAULT_RECONNECT_TIMEOUT + ")").build());
        o.addOption(Option.builder().longOpt("no-fault-connection")
                .desc("send faults on the one connection with the background (default: a connection of their own)").build());
        o.addOption(Option.builder().longOpt("stats-file").hasArg().argName("FILE").desc("write JSON statistics at the end").build());
        AuthOptions.add(o);
        return o;
    }

    /** The lazy server: serves the pages (and the images) of -D until killed. */
    private int serve(CommandLine cl, Path dir) throws Exception {
        if (cl.hasOption("lazy-client")) {
            throw new UsageException("--lazy-server and --lazy-client exclude each other");
        }
        AuthKey key = AuthOptions.key(cl);
        int port = port(cl);
        String bind = cl.hasOption("address") ? cl.getOptionValue("address") : "0.0.0.0";
        Checkpoint cp = awaitImages(dir, Duration.ofSeconds(connectTimeout(cl)));
        try (DestinationImages images = DestinationImages.build(cp, dir);
             CheckpointPageStore store = new CheckpointPageStore(cp, p -> new PagesFileData(dir, p.pagemap().pagesId()));
             LazyServer server = new LazyServer(store, images, key, new InetSocketAddress(bind, port))) {
            out.println("lazy-server: serving process " + cp.root().pid() + (cp.isTree() ? " and its tree (" + cp.processes().size()
                    + " processes)" : "") + " from " + dir + " on " + server.address());
            out.flush();
            server.serve();
        }
        return 0;
    }

    /**
     * The lazy server started before the dump: while -D holds no checkpoint yet, waits for one
     * (each image is renamed into place whole, so the checkpoint reads once the dump wrote its last),
     * saying so every few seconds. A directory that holds images from the start is read at once.
     */
    private Checkpoint awaitImages(Path dir, Duration patience) throws Exception {
        if (java.nio.file.Files.exists(dir.resolve("inventory.img")) || patience.isZero()) {
            return Checkpoint.read(dir, XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query));
        }
        long start = System.nanoTime();
        long nextNote = start;
        Warmup.Background warmup = Warmup.inBackground(Warmup.defaultDir(), RestoreCommand.stubPath(), "lazy-server");
        while (true) {
            try {
                Checkpoint cp = Checkpoint.read(dir, XsaveLayout.fromCpuid(Cpuid.enabledXfeatures(), Cpuid::query));
                warmup.stop();
                io.lazymig.protocol.TlsWarmup.stop(); // the real serving begins: it warms the cipher from here
                return cp;
            } catch (java.io.IOException e) {
                long now = System.nanoTime();
                if (now - start >= patience.toNanos()) {
                    throw new java.io.IOException("no checkpoint in " + dir + " within " + patience.toSeconds() + " s ("
                            + Main.describe(e) + ")", e);
                }
                if (now >= nextNote) {
                    out.printf("lazy-server: waiting for the dump's images in %s (%d s of %d)%n", dir,
                            (now - start) / 1_000_000_000L, patience.toSeconds());
                    out.flush();
                    nextNote = now + ServerWait.PROGRESS_SECONDS * 1_000_000_000L;
                }
                Thread.sleep(ServerWait.RETRY_MILLIS);
            }
        }
    }

    static int connectTimeout(CommandLine cl) throws UsageException {
        int t = cl.hasOption("connect-timeout")
                ? CliOptions.parseInt(cl.getOptionValue("connect-timeout"), "--connect-timeout") : DEFAULT_CONNECT_TIMEOUT;
        if (t < 0) {
            throw new UsageException("--connect-timeout: seconds >= 0");
        }
        return t;
    }

    static int port(CommandLine cl) throws UsageException {
        if (!cl.hasOption("port")) {
            throw new UsageException("--port PORT is required");
        }
        int port = CliOptions.parseInt(cl.getOptionValue("port"), "--port");
        if (port < 0 || port > 65535) {
            throw new UsageException("--port: " + port + " is not a TCP port");
        }
        return port;
    }

    static InetSocketAddress serverAddress(CommandLine cl, String host) throws UsageException {
        InetSocketAddress a = new InetSocketAddress(host, port(cl));
        if (a.isUnresolved()) {
            throw new UsageException("--lazy-client: cannot resolve '" + host + "'");
        }
        return a;
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
        if (cl.hasOption("lazy-server")) {
            return serve(cl, dir);
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
        PrintStream progress = System.console() != null ? out : null;
        Stats stats;
        if (cl.hasOption("lazy-client")) {
            int connectTimeout = connectTimeout(cl);
            InetSocketAddress server = serverAddress(cl, cl.getOptionValue("lazy-client"));
            int reconnect = cl.hasOption("reconnect-timeout")
                    ? CliOptions.parseInt(cl.getOptionValue("reconnect-timeout"), "--reconnect-timeout") : DEFAULT_RECONNECT_TIMEOUT;
            if (reconnect <= 0) {
                throw new UsageException("--reconnect-timeout: must be positive");
            }
            RemotePageSource source = new RemotePageSource(server, AuthOptions.key(cl), Duration.ofSeconds(reconnect),
                    !cl.hasOption("no-fault-connection"));
            Warmup.Background[] warmup = {null};
            try {
                ServerWait.connect(source, server, Duration.ofSeconds(connectTimeout), out,
                        () -> warmup[0] = Warmup.inBackground(Warmup.defaultDir(), RestoreCommand.stubPath(), "lazy-pages"));
            } finally {
                if (warmup[0] != null) {
                    warmup[0].stop();
                }
                io.lazymig.protocol.TlsWarmup.stop(); // the real transfer begins: it warms the cipher from here
            }
            List<String> fetched = source.fetchImages(dir);
            LoggerFactory.getLogger("lazymig.lazy-pages").info("lazy-pages: fetched {} images from the lazy server", fetched.size());
            stats = LazyPagesDaemon.runRemote(o, source, progress);
        } else {
            if (cl.hasOption("port") || cl.hasOption("connect-timeout")) {
                throw new UsageException("--port and --connect-timeout go with --lazy-client ADDR (--port also with --lazy-server)");
            }
            stats = LazyPagesDaemon.runLocal(o, progress);
        }
        if (cl.hasOption("stats-file")) {
            stats.writeJson(Path.of(cl.getOptionValue("stats-file")));
        }
        return 0;
    }
}
