package io.lazymig.migrate;

import io.lazymig.dump.DumpException;
import io.lazymig.dump.Dumper;
import io.lazymig.dump.Preflight;
import io.lazymig.images.Checkpoint;
import io.lazymig.images.FileObject;
import io.lazymig.images.InetSocket;
import io.lazymig.lazyserver.DestinationImages;
import io.lazymig.protocol.AuthKey;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.Handshake;
import io.lazymig.protocol.Messages;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import io.lazymig.restore.InheritFd;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lazymig migrate} (host B): one command for the whole migration. Before anything is
 * frozen: the process is checked, the agent on A reached, authenticated, and asked whether it
 * can take the process. Then: freeze and dump (the lazy pages stay in the frozen process), the
 * small images to the agent over the same connection, the lazy pages served from the frozen
 * process to the agent's daemon; the agent restores and reports the process running (the end of
 * the downtime), relays its progress, and reports completion; then the source is killed (or
 * resumed with --leave-running).
 *
 * <p>Failures before the freeze leave the process untouched. After it, while A has not reported
 * the process running, any failure resumes the source untouched (A's restore kills what it
 * started). Once A runs the process, the source is released only when a destination has every
 * page; if the agent is lost, the frozen source keeps serving for A's guard deadline (another
 * daemon may take the process over, see the README), and when none finished by then — A's guard
 * has killed its copy — the source resumes.
 */
public final class Migration {
    private static final Logger log = LoggerFactory.getLogger("lazymig.migrate");
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** How long the freeze waits for the daemon's fault connection once its first is in (both open at once). */
    private static final Duration FAULT_CHANNEL_PATIENCE = Duration.ofSeconds(2);
    /** Beyond A's deadlines: the page reconnection and the guard's, before the source resumes. */
    private static final Duration LOST_AGENT_MARGIN = Duration.ofSeconds(15);
    /** How long a failed send waits for the agent's reason, which it writes before it closes. */
    private static final Duration ERROR_REPLY_PATIENCE = Duration.ofSeconds(2);

    /** What to migrate where. */
    /** {@code carryLimit}: as dump's (files up to this size travel with the images; see Dumper.Options). */
    /**
     * {@code inherit}: the external pipes the dump may take (their other end outside the process) and
     * the path each becomes on A (restore --inherit-fd PATH:pipe:[INODE], sent to the agent).
     */
    public record Options(int pid, InetSocketAddress agent, AuthKey key, boolean leaveRunning, boolean anyPid, Path workDir,
            long carryLimit, List<InheritFd> inherit, boolean tcpEstablished, boolean shareCow) {
        public Options {
            inherit = List.copyOf(inherit);
        }

        public Options(int pid, InetSocketAddress agent, AuthKey key, boolean leaveRunning, boolean anyPid, Path workDir,
                long carryLimit, List<InheritFd> inherit) {
            this(pid, agent, key, leaveRunning, anyPid, workDir, carryLimit, inherit, false, false);
        }

        /** These options, carrying established TCP connections alive (migrate --tcp-established) or not. */
        public Options withTcpEstablished(boolean on) {
            return new Options(pid, agent, key, leaveRunning, anyPid, workDir, carryLimit, inherit, on, shareCow);
        }

        /** These options, sharing a tree's copy-on-write memory (migrate --share-cow: its pages eager) or not. */
        public Options withShareCow(boolean on) {
            return new Options(pid, agent, key, leaveRunning, anyPid, workDir, carryLimit, inherit, tcpEstablished, on);
        }

        public Options(int pid, InetSocketAddress agent, AuthKey key, boolean leaveRunning, boolean anyPid, Path workDir,
                long carryLimit) {
            this(pid, agent, key, leaveRunning, anyPid, workDir, carryLimit, List.of());
        }

        public Options(int pid, InetSocketAddress agent, AuthKey key, boolean leaveRunning, boolean anyPid, Path workDir) {
            this(pid, agent, key, leaveRunning, anyPid, workDir, Dumper.DEFAULT_CARRY_LIMIT);
        }
    }

    /**
     * The summary of a migration that completed, and the destination daemon's statistics as JSON
     * (as {@code lazy-pages --stats-file} writes them; null when the agent was lost before it sent them).
     */
    public record Result(int remotePid, double downtimeMs, String summary, String statsJson) {
    }

    private final Options o;
    private final PrintStream out;
    private final boolean terminal;

    public Migration(Options o, PrintStream out, boolean terminal) {
        this.o = o;
        this.out = out;
        this.terminal = terminal;
    }

    public Result run() throws IOException {
        long tBegin = System.nanoTime();
        Set<String> externals = new LinkedHashSet<>();
        o.inherit().forEach(i -> externals.add(i.resource()));
        String tree = TreeHint.encode(Preflight.checkTree(o.pid(), externals, true));
        DumpWarmup.run(o.workDir(), DumpWarmup.targetPath()); // before the agent starts its clocks
        try {
            io.lazymig.protocol.TlsWarmup.finish(); // not beside the freeze and the serving
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        collectBeforeTheFreeze();
        Control control = connect();
        try (control) {
            Map<String, String> req = new LinkedHashMap<>();
            req.put("pid", Integer.toString(o.pid()));
            req.put("any-pid", o.anyPid() ? "1" : "0");
            req.put(AgentSession.TCP_ESTABLISHED_KEY, o.tcpEstablished() ? "1" : "0");
            if (tree != null) {
                req.put(TreeHint.KEY, tree); // the agent forks the tree's processes before the freeze
            }
            for (int i = 0; i < o.inherit().size(); i++) {
                req.put(AgentSession.INHERIT_KEY + i, o.inherit().get(i).toString());
            }
            control.send("migrate", req);
            Map<String, String> ready = control.expect("ready");
            long deadline = Control.number(ready, "deadline", control.peer());
            long reconnect = Control.number(ready, "reconnect", control.peer());
            Path dir = Files.createTempDirectory(o.workDir(), "lazymig-migrate-");
            Result[] result = {null};
            String sockets;
            InetSocketAddress bind = new InetSocketAddress(((InetSocketAddress) control.channel().getLocalAddress()).getAddress(), 0);
            try (FrozenSource source = FrozenSource.listen(o.key(), bind)) {
                preconnect(control, source);
                note("agent at " + o.agent() + " is ready (migration " + ready.get("migration") + ", guard deadline "
                        + deadline + " s); freezing process " + o.pid());
                Dumper.Result d = Dumper.dump(new Dumper.Options(o.pid(), dir, o.leaveRunning(), (cp, frozenAt) ->
                        result[0] = whileFrozen(control, source, cp, dir, frozenAt,
                                Duration.ofSeconds(deadline + reconnect).plus(LOST_AGENT_MARGIN)), o.carryLimit(),
                        externals).withTcpEstablished(o.tcpEstablished()).withShareCow(o.shareCow())
                        // the images A gets are built once, from the Checkpoint, by FrozenSource: no copy in dir
                        .withCheckpointFiles(false));
                sockets = io.lazymig.dump.SocketSummary.of(d.checkpoint());
            } finally {
                deleteTree(dir);
            }
            double total = (System.nanoTime() - tBegin) / 1e9;
            Result r = result[0];
            String line = String.format(Locale.ROOT, "%s, total %.2f s, source %s%s", r.summary(), total,
                    o.leaveRunning() ? "resumed" : "killed", sockets);
            out.println("migrate: " + line);
            out.flush();
            return r;
        }
    }

    /**
     * A full collection after the warm-ups, before the agent's clocks start: the dump and the page
     * server then allocate into an empty young generation (the launcher gives migrate one large
     * enough), not into the warm-ups' garbage, so no collection stops them inside the downtime.
     */
    private static void collectBeforeTheFreeze() {
        long t0 = System.nanoTime();
        System.gc();
        log.debug("migrate: heap collected before the freeze in {} us", (System.nanoTime() - t0) / 1000);
    }

    /** Connects and authenticates: a wrong key, or no agent, fails here with nothing frozen. */
    private Control connect() throws IOException {
        SocketChannel ch = SocketChannel.open();
        try {
            ch.socket().connect(o.agent(), (int) CONNECT_TIMEOUT.toMillis());
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            FrameCodec codec = new FrameCodec("agent at " + o.agent());
            java.nio.channels.ByteChannel conn = io.lazymig.protocol.ConnectionDeadline.within(ch,
                    Agent.LIMITS.handshake(), "agent at " + o.agent() + "'s handshake", () -> {
                        java.nio.channels.ByteChannel c = io.lazymig.protocol.Transport.of(o.key()).client(ch,
                                "agent at " + o.agent());
                        Handshake.client(c, codec, o.key(), "agent at " + o.agent());
                        return c;
                    });
            return new Control(ch, conn, codec, "agent at " + o.agent());
        } catch (IOException e) {
            ch.close();
            throw new IOException("no migration: " + (e.getMessage() == null ? e.toString() : e.getMessage())
                    + (e instanceof java.net.ConnectException || e instanceof java.net.SocketTimeoutException
                    ? " (is 'lazymig agent' running on " + o.agent() + "?)" : "")
                    + "; process " + o.pid() + " untouched", e);
        }
    }

    /**
     * Before the freeze: the page server's port to the agent, and its daemon's page connection made
     * and authenticated (TCP, TLS, lazymig's proof), so that after the freeze only the WELCOME is
     * left on it. A daemon that does not get there fails the migration with the process untouched.
     */
    private void preconnect(Control control, FrozenSource source) throws IOException {
        long t0 = System.nanoTime();
        control.send("serving", Map.of("page-port", Integer.toString(source.address().getPort())));
        try {
            if (!source.awaitAuthenticated(CONNECT_TIMEOUT)) {
                throw new IOException("no migration: the agent's lazy-pages daemon did not connect to the page server on "
                        + source.address() + " within " + CONNECT_TIMEOUT.toSeconds() + " s (see the agent's log); process "
                        + o.pid() + " untouched");
            }
            // Its fault connection, opened beside it: not required (without it faults go with the
            // background), but a TLS handshake left running costs CPU to the dump and the restore.
            if (!source.awaitAuthenticatedFaultChannel(FAULT_CHANNEL_PATIENCE)) {
                log.warn("migrate: the agent's fault connection did not authenticate within {} ms; freezing without it",
                        FAULT_CHANNEL_PATIENCE.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted; process " + o.pid() + " untouched", e);
        }
        log.debug("migrate: the agent's page connection authenticated in {} us", (System.nanoTime() - t0) / 1000);
    }

    /** Runs with the process frozen and its images written (no lazy pages); returns when every page is on A. */
    private Result whileFrozen(Control control, FrozenSource preconnected, Checkpoint cp, Path dir, long frozenAt,
            Duration lostAgentWait) throws IOException {
        long tDumped = System.nanoTime();
        try (FrozenSource source = preconnected) { // closed before the source is released, as always
            source.offer(cp, dir);
            long tServing = System.nanoTime();
            long imageBytes;
            try {
                imageBytes = sendImages(control, source.images());
                control.send("start");
            } catch (Control.PeerError e) {
                throw e;
            } catch (IOException e) {
                throw control.reasonFor(e, ERROR_REPLY_PATIENCE); // e.g. A's disk full: its reply, not our broken pipe
            }
            long tSent = System.nanoTime();
            Map<String, String> running;
            try {
                running = awaitRunning(control);
            } catch (Control.PeerError e) {
                throw e; // the agent says it failed: its restore killed what it started, the source resumes now
            } catch (IOException e) {
                // The agent went away during its restore: its process may run already, guarded. The
                // source serves on, and resumes only when no destination finished by the deadline.
                log.warn("migrate: lost the agent before it reported process {} running: {}", o.pid(), e.getMessage());
                out.println("migrate: lost the agent during its restore (" + e.getMessage() + "); serving the pages for up to "
                        + lostAgentWait.toSeconds() + " s before the source resumes");
                out.flush();
                awaitDone(source, lostAgentWait);
                return new Result(-1, (System.nanoTime() - frozenAt) / 1e6, summary(-1, (System.nanoTime() - frozenAt) / 1e6, null),
                        null);
            }
            long tRunning = System.nanoTime();
            double downtime = (tRunning - frozenAt) / 1e6;
            int remotePid = (int) Control.number(running, "pid", control.peer());
            if (o.tcpEstablished()) {
                tcpAlive(cp, running.get(AgentSession.TCP_ALIVE_KEY));
            }
            String steps = String.format(Locale.ROOT, "freeze+dump %.1f ms, page server %.1f ms, images sent %.1f ms (%d KiB); "
                    + "on A from the first image: images in %.1f ms, page connection %.1f ms, daemon listening %.1f ms, "
                    + "released %.1f ms (restore %.1f ms)",
                    ms(tDumped - frozenAt), ms(tServing - tDumped), ms(tSent - tServing), imageBytes / 1024,
                    us(running, "images-us"), us(running, "connect-us"), us(running, "listen-us"), us(running, "running-us"),
                    us(running, "restore-us"));
            note(String.format(Locale.ROOT, "process %d runs on %s as pid %d: downtime %.1f ms (%s)", o.pid(),
                    o.agent().getAddress().getHostAddress(), remotePid, downtime, steps));
            String stats = awaitComplete(control, source, lostAgentWait);
            awaitDone(source, lostAgentWait);
            return new Result(remotePid, downtime, summary(remotePid, downtime, stats),
                    stats == null || stats.isEmpty() ? null : stats);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DumpException("interrupted while migrating process " + o.pid());
        }
    }

    /**
     * The line the operator waits for to move the service address: the agent restored the carried
     * connections alive and took them out of repair mode (an agent too old to say is not guessed for).
     */
    private void tcpAlive(Checkpoint cp, String alive) {
        if (alive == null) {
            return;
        }
        Set<String> addresses = new TreeSet<>();
        for (FileObject f : cp.files()) {
            if (f instanceof InetSocket s && s.isCarriedAlive()) {
                addresses.add(InetSocket.addressText(s.src()));
            }
        }
        if (addresses.isEmpty()) {
            return;
        }
        out.println("migrate: " + alive + " TCP connection(s) alive on A; move " + String.join(", ", addresses)
                + " to A now (the connections' address: until it is there their peers retransmit)");
        out.flush();
        log.info("migrate: {} TCP connection(s) alive on A ({})", alive, addresses);
    }

    /** The "running" message; the daemon's first progress may come before it. */
    private Map<String, String> awaitRunning(Control control) throws IOException {
        while (true) {
            Frame f = control.read();
            Map<String, String> m = f.type() == FrameType.CONTROL ? Control.decode(f.payload()) : Map.of();
            if ("running".equals(m.get("kind"))) {
                return m;
            }
            if (!"progress".equals(m.get("kind"))) {
                throw new io.lazymig.protocol.ProtocolException(control.peer() + " sent '" + m.get("kind")
                        + "' where 'running' belongs");
            }
        }
    }

    /** Progress lines until "complete" (its stats); null when the agent was lost after the process ran on A. */
    private String awaitComplete(Control control, FrozenSource source, Duration lostAgentWait) {
        try {
            while (true) {
                Frame f = control.read();
                Map<String, String> m = f.type() == FrameType.CONTROL ? Control.decode(f.payload()) : Map.of();
                if ("progress".equals(m.get("kind"))) {
                    progress(m.get("text"));
                } else if ("complete".equals(m.get("kind"))) {
                    progressDone();
                    return m.getOrDefault("stats", "");
                }
            }
        } catch (IOException e) {
            progressDone();
            log.warn("migrate: lost the agent after process {} ran on A: {}", o.pid(), e.getMessage());
            out.println("migrate: lost the agent (" + e.getMessage() + "); the source stays frozen and serves its pages "
                    + "for up to " + lostAgentWait.toSeconds() + " s, in case a lazy-pages daemon takes the process over on A");
            out.flush();
            return null;
        }
    }

    /** Waits until a destination has every page; when none does within the bound, the source resumes. */
    private void awaitDone(FrozenSource source, Duration bound) throws IOException, InterruptedException {
        if (!source.awaitAllClientsDone(bound)) {
            throw new DumpException("no destination has every page of process " + o.pid() + " after " + bound.toSeconds()
                    + " s: the process on A was killed at its guard's deadline; the source resumes");
        }
    }

    /**
     * Sends every image to the agent: those held in memory (the protobuf ones) together, up to
     * {@link Control#FILE_CHUNK} bytes a write ({@link Control#sendWholeFiles}); files and larger
     * images in chunks of their own. Returns the image bytes sent.
     */
    private long sendImages(Control control, DestinationImages images) throws IOException {
        long total = 0;
        ByteBuffer buf = null;
        List<String> batchNames = new ArrayList<>();
        List<byte[]> batch = new ArrayList<>();
        long batchBytes = 0;
        for (Messages.ImageInfo info : images.images()) {
            byte[] small = images.bytes(info.name());
            if (small != null && small.length <= Control.FILE_CHUNK) {
                if (batchBytes + small.length > Control.FILE_CHUNK) {
                    control.sendWholeFiles(batchNames, batch);
                    batchNames.clear();
                    batch.clear();
                    batchBytes = 0;
                }
                batchNames.add(info.name());
                batch.add(small);
                batchBytes += small.length;
                total += small.length;
                continue;
            }
            if (!batch.isEmpty()) { // in the order of the list, as always
                control.sendWholeFiles(batchNames, batch);
                batchNames.clear();
                batch.clear();
                batchBytes = 0;
            }
            if (small != null) { // an image in memory beyond one frame: in chunks
                int offset = 0;
                do {
                    int n = Math.min(Control.FILE_CHUNK, small.length - offset);
                    control.sendFile(info.name(), Control.fileHeader(info.name(), offset), ByteBuffer.wrap(small, offset, n));
                    offset += n;
                } while (offset < small.length);
                total += small.length;
                continue;
            }
            if (buf == null) {
                buf = ByteBuffer.allocateDirect(Control.FILE_CHUNK);
            }
            try (FileChannel in = FileChannel.open(images.file(info.name()), StandardOpenOption.READ)) {
                long offset = 0;
                do {
                    buf.clear();
                    int n = Math.max(0, in.read(buf, offset));
                    buf.flip();
                    control.sendFile(info.name(), Control.fileHeader(info.name(), offset), buf);
                    offset += n;
                } while (offset < info.size());
                total += offset;
            }
        }
        if (!batch.isEmpty()) {
            control.sendWholeFiles(batchNames, batch);
        }
        return total;
    }

    private static final Pattern NUMBER = Pattern.compile("\"(pages_total|pages_fault|pages_fault_around|pages_background|zero_pages|bytes)\": (\\d+)");

    private String summary(int remotePid, double downtime, String stats) {
        Map<String, Long> s = new LinkedHashMap<>();
        if (stats != null) {
            Matcher m = NUMBER.matcher(stats);
            while (m.find()) {
                s.put(m.group(1), Long.parseLong(m.group(2)));
            }
        }
        return String.format(Locale.ROOT, "process %d migrated to %s as pid %d: downtime %.1f ms, %s", o.pid(),
                o.agent().getAddress().getHostAddress(), remotePid, downtime, stats == null
                        ? "pages by a daemon that took it over"
                        : String.format(Locale.ROOT, "%d pages (%d fault, %d fault-around, %d background, %d zero), %.1f MiB",
                        s.getOrDefault("pages_total", 0L), s.getOrDefault("pages_fault", 0L),
                        s.getOrDefault("pages_fault_around", 0L), s.getOrDefault("pages_background", 0L),
                        s.getOrDefault("zero_pages", 0L), s.getOrDefault("bytes", 0L) / 1048576.0));
    }

    private void note(String line) {
        log.info("migrate: {}", line);
        out.println("migrate: " + line);
        out.flush();
    }

    private boolean progressShown;
    private long lastProgressLine;

    private void progress(String text) {
        if (text == null) {
            return;
        }
        String line = "migrate: " + text.replaceFirst("^lazy-pages: ", "");
        if (terminal) {
            out.print("\r" + line);
            progressShown = true;
        } else if (System.nanoTime() - lastProgressLine > 1_000_000_000L) {
            out.println(line); // to a file: a line a second at most
            lastProgressLine = System.nanoTime();
        }
        out.flush();
    }

    private void progressDone() {
        if (progressShown) {
            out.println();
            progressShown = false;
        }
    }

    private static double us(Map<String, String> m, String key) {
        try {
            return Long.parseLong(m.getOrDefault(key, "0")) / 1000.0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("migrate: cannot remove {}: {}", dir, e.getMessage());
        }
    }
}
