package io.lazymig.migrate;

import io.lazymig.images.Checkpoint;
import io.lazymig.images.CoreReadAhead;
import io.lazymig.images.ImageDir;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.UnixSocket;
import io.lazymig.jni.WaitStatus;
import io.lazymig.lazyclient.LazyPagesDaemon;
import io.lazymig.lazyclient.RemotePageSource;
import io.lazymig.lazyclient.Stats;
import io.lazymig.protocol.ConnectionDeadline;
import io.lazymig.protocol.Frame;
import io.lazymig.protocol.FrameCodec;
import io.lazymig.protocol.FrameType;
import io.lazymig.protocol.Handshake;
import io.lazymig.protocol.ProtocolException;
import io.lazymig.protocol.Transport;
import io.lazymig.restore.InheritFd;
import io.lazymig.restore.PrespawnedTree;
import io.lazymig.restore.Restorer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One migration on the agent, on its own thread (which is the restore's tracer): authenticate,
 * say whether it can be taken (before B freezes anything), receive the images, connect the daemon
 * to B's page server, restore, report "running" with the times of each step, then serve the
 * pages until every one is in and report "complete". The restored process is this JVM's child
 * only until it exits (reaped here); its uffd is shared with a guard process before it runs.
 */
final class AgentSession implements Runnable {
    /** The migrate request's keys of --inherit-fd entries: inherit-fd.0, inherit-fd.1, ... */
    static final String INHERIT_KEY = "inherit-fd.";
    /** "1": migrate --tcp-established dumped established TCP connections alive; restore them alive. */
    static final String TCP_ESTABLISHED_KEY = "tcp-established";
    /** The "running" message's count of TCP connections restored alive and out of repair mode on A. */
    static final String TCP_ALIVE_KEY = "tcp-alive";
    /** This session's migration request's --tcp-established (set once, read by the session's own thread). */
    private boolean tcpEstablished;
    /** This session's request's tree before the freeze (null: one process, or none said), set once like it. */
    private List<io.lazymig.images.TreeIds.Node> treeHint;
    private static final Logger log = LoggerFactory.getLogger("lazymig.agent");
    /** Every migration taken or refused after authentication, with the peer's identity: always logged. */
    private static final Logger audit = LoggerFactory.getLogger(Agent.AUDIT_LOG);
    /** How long the daemon keeps trying to reach B's page server after a drop. */
    private static final int RECONNECT_SECONDS = 30;
    /** After a failure, how long the session reads and drops what B still sends, so its error reply is not reset. */
    private static final java.time.Duration ERROR_DRAIN = java.time.Duration.ofSeconds(5);
    private static final long LISTEN_TIMEOUT_SECONDS = 30;

    private final Agent agent;
    private final SocketChannel channel;
    private final String peer;
    /** Who the peer is once authenticated: its address and the key it proved it holds. */
    private String identity;

    AgentSession(Agent agent, SocketChannel channel, String peer) {
        this.agent = agent;
        this.channel = channel;
        this.peer = peer;
        this.identity = peer;
    }

    @Override
    public void run() {
        Agent.Options o = agent.options();
        FrameCodec codec = new FrameCodec("migrate at " + peer);
        try (channel) {
            Control[] made = {null};
            Map<String, String> request;
            try {
                // Nothing is read but the handshakes (TLS's, then lazymig's) before authentication; the
                // request must follow them at once.
                request = ConnectionDeadline.within(channel, agent.limits().handshake(), "migrate at " + peer
                        + "'s handshake", () -> {
                            ByteChannel conn = Transport.of(o.key()).server(channel, "migrate at " + peer);
                            Handshake.server(conn, codec, o.key(), new Handshake.Welcome(0, 0), "migrate at " + peer);
                            identity = peer + " (" + (o.key() == null ? "unauthenticated: --no-auth" : "key "
                                    + o.key().fingerprint() + (o.key().tls() == null ? ", not encrypted" : ", TLS"))
                                    + ")";
                            made[0] = new Control(channel, conn, codec, "migrate at " + peer);
                            return made[0].expect("migrate");
                        });
            } catch (IOException e) {
                log.warn("agent: {} refused: {}", identity, e.getMessage());
                return;
            } finally {
                agent.handshakeDone();
            }
            Control control = made[0];
            if (!agent.enterSession()) {
                String why = "the agent serves " + agent.limits().sessions() + " connections already, its limit";
                audit.warn("agent: migration from {} refused: {}", identity, why);
                control.sendError(why);
                return;
            }
            try {
                serve(control, request);
            } finally {
                agent.leaveSession();
            }
        } catch (IOException | RuntimeException e) {
            log.warn("agent: migration from {} ended: {}", identity, e.getMessage());
        }
    }

    private void serve(Control control, Map<String, String> request) throws IOException {
        int pid = (int) Control.number(request, "pid", peer);
        boolean anyPid = "1".equals(request.get("any-pid"));
        tcpEstablished = "1".equals(request.get(TCP_ESTABLISHED_KEY));
        List<InheritFd> inherit = new ArrayList<>();
        for (int i = 0; request.containsKey(INHERIT_KEY + i); i++) {
            try {
                InheritFd f = InheritFd.parse(request.get(INHERIT_KEY + i));
                if (f.isFd()) {
                    throw new IllegalArgumentException("--inherit-fd " + f + ": the agent has no fds of the operator's");
                }
                inherit.add(f);
            } catch (IllegalArgumentException e) {
                audit.warn("agent: migration of process {} from {} refused: {}", pid, identity, e.getMessage());
                control.sendError(e.getMessage());
                return;
            }
        }
        try {
            treeHint = TreeHint.decode(request.get(TreeHint.KEY), pid);
        } catch (IllegalArgumentException e) {
            audit.warn("agent: migration of process {} from {} refused: {}", pid, identity, e.getMessage());
            control.sendError(e.getMessage());
            return;
        }
        String refusal = refusal(pid, anyPid);
        if (refusal != null) {
            audit.warn("agent: migration of process {} from {} refused: {}", pid, identity, refusal);
            control.sendError(refusal);
            return;
        }
        StringBuilder why = new StringBuilder();
        StandbyGuard guard = agent.begin(why);
        if (guard == null) {
            audit.warn("agent: migration of process {} from {} refused: {}", pid, identity, why);
            control.sendError(why.toString());
            return;
        }
        boolean taken = false;
        try {
            taken = migrate(control, pid, guard, anyPid, inherit);
        } finally {
            agent.end(taken ? null : guard);
        }
    }

    /** Returns whether the guard was handed the process (then it is used up). */
    private boolean migrate(Control control, int pid, StandbyGuard guard, boolean anyPid, List<InheritFd> inherit)
            throws IOException {
        Agent.Options o = agent.options();
        String id = agent.nextId(pid);
        Path dir = o.workDir().resolve(id);
        Path images = dir.resolve("images");
        Files.createDirectories(images);
        boolean[] guarded = {false};
        try (MigrationLog mlog = new MigrationLog(id, dir.resolve("migration.log"))) {
            audit.info("agent: migration {}: process {} from {} taken", id, pid, identity);
            mlog.info("process " + pid + " from " + identity + "; guard pid " + guard.pid() + " (" + guard.log() + ")");
            control.send("ready", Map.of("migration", id, "deadline", Long.toString(o.lazyDeadline().toSeconds()),
                    "reconnect", Integer.toString(RECONNECT_SECONDS), "dir", dir.toString()));
            try {
                run(control, mlog, dir, images, pid, anyPid, inherit, guard, guarded);
                audit.info("agent: migration {}: process {} from {} complete", id, pid, identity);
            } catch (IOException | RuntimeException | InterruptedException e) {
                audit.warn("agent: migration {}: process {} from {} failed: {}", id, pid, identity,
                        e.getMessage() == null ? e.toString() : e.getMessage());
                mlog.error(e.getMessage() == null ? e.toString() : e.getMessage());
                control.sendError("agent: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
                control.drainAfterError(ERROR_DRAIN); // B may be sending images still: no reset over the reply
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        return guarded[0];
    }

    private void run(Control control, MigrationLog mlog, Path dir, Path images, int pid, boolean anyPid,
                     List<InheritFd> inherit, StandbyGuard guard, boolean[] guarded) throws IOException, InterruptedException {
        Agent.Options o = agent.options();
        // "serving" first (the page server's port), before B freezes: the daemon connects and
        // authenticates while the process still runs there, and B freezes once it has.
        Map<String, String> serving = control.expect("serving");
        int pagePort = (int) Control.number(serving, "page-port", peer);
        InetSocketAddress pageServer = new InetSocketAddress(((InetSocketAddress) channel.getRemoteAddress()).getAddress(),
                pagePort);
        Path sock = dir.resolve("lp.sock");
        Daemon daemon = new Daemon(pageServer, sock, images, control);
        daemon.start();
        boolean released = false;
        // From here to the release this thread (and the stub it forks) comes first on a busy host; the
        // daemon's threads, started above, keep their own scheduling.
        DowntimePriority priority = DowntimePriority.raise("the restore");
        // The cores parsed as they come, while the eager pages and the rest are still on their way,
        // on a thread this one starts at its first core: at the downtime's priority too, as what it
        // leaves unparsed the read parses after the last image, on the way to the release. Under
        // SCHED_IDLE it took only what the host left, in make bench often nothing (0-3 of a
        // 100-thread process's cores parsed ahead, the read after them 14-17 ms instead of 2).
        CoreReadAhead ahead = new CoreReadAhead(images);
        // The stub forked and exec'd now, on this thread (its tracer, which restores), while B
        // still waits for the daemon to connect: not in the downtime (0: restore starts its own);
        // and a tree's other processes forked from it, as B saw the tree before the freeze.
        PrespawnedTree[] stub = {PrespawnedTree.start(o.stub(), pid, treeHint)};
        try {
            long[] first = {0};
            ImageReceiver receiver = new ImageReceiver(images, agent.options().maxImageBytes(), peer, ahead::offer);
            long bytes = receiveImages(control, receiver, first);
            long t0 = first[0] == 0 ? System.nanoTime() : first[0]; // the steps are timed from the first image
            long tImages = System.nanoTime();
            mlog.info("images received: " + bytes + " bytes; page server at " + pageServer);
            // the held images' files written beside the restore, which waits for them before the handoff
            FutureTask<Void> files = new FutureTask<>(() -> {
                receiver.writeHeld();
                return null;
            });
            Thread writer = new Thread(files, "image files " + dir.getFileName());
            writer.setDaemon(true);
            writer.start();
            // read once, from memory, for the daemon and restore alike (the same layout: this CPU's)
            Checkpoint cp;
            try {
                long tRead = System.nanoTime();
                ahead.close(); // what it has not parsed yet, the read parses, on every CPU
                cp = Restorer.readCheckpoint(ImageDir.withMemory(images, receiver.held(), ahead));
                log.debug("agent: the checkpoint read in {} us ({} of its {} threads' cores parsed as they came)",
                        (System.nanoTime() - tRead) / 1000, ahead.parsed(), threads(cp));
                daemon.checkpoint = cp;
            } finally {
                daemon.imagesReady.countDown(); // without a checkpoint the daemon fails, and restore does not start
            }
            // Restore now, the daemon starting meanwhile; the uffd waits for it to listen.
            PrespawnedTree prespawned = stub[0];
            long[] shared = {0}; // when the guard was sent its share (0: not yet)
            stub[0] = null; // restore's from here on, used or killed
            Restorer.Restored r = Restorer.restore(new Restorer.Options(images, true, sock, anyPid, o.stub(),
                    new Restorer.Guardian() {
                        @Override
                        public void take(io.lazymig.restore.LazyHandoff h) throws IOException {
                            guard.share(h); // its acknowledgement awaited before the release, the last steps run meanwhile
                            guarded[0] = true;
                            shared[0] = System.nanoTime();
                        }

                        @Override
                        public void beforeRelease() throws IOException {
                            if (shared[0] != 0) {
                                long t = System.nanoTime();
                                guard.awaitTaken();
                                log.debug("agent: the guard's share sent {} us before the release, its acknowledgement "
                                        + "waited for {} us", (System.nanoTime() - shared[0]) / 1000,
                                        (System.nanoTime() - t) / 1000);
                            }
                        }

                        @Override
                        public void beforeHandoff() throws IOException {
                            awaitFiles(files); // nothing runs on A unless a daemon could take it over from the files
                            daemon.awaitListening();
                        }
                    }).withInherit(inherit).withIpMap(o.ipMap()).withTcpEstablished(tcpEstablished), cp, prespawned);
            r.handoff().close(); // the guard and the daemon hold theirs
            released = true;
            priority.close();
            long tRunning = r.detachNanos();
            mlog.info(String.format(java.util.Locale.ROOT, "process %d running; from the first image: images in %.1f ms, "
                    + "page server connected %.1f ms, daemon listening %.1f ms, released %.1f ms (restore %.1f ms)", r.pid(),
                    ms(tImages - t0), ms(daemon.connectedNanos - t0), ms(daemon.listeningNanos - t0), ms(tRunning - t0),
                    ms(tRunning - r.startNanos())));
            Map<String, String> running = new LinkedHashMap<>();
            running.put("pid", Integer.toString(r.pid()));
            running.put("images-us", Long.toString((tImages - t0) / 1000));
            running.put("connect-us", Long.toString((daemon.connectedNanos - t0) / 1000));
            running.put("listen-us", Long.toString((daemon.listeningNanos - t0) / 1000));
            running.put("running-us", Long.toString((tRunning - t0) / 1000));
            running.put("restore-us", Long.toString((tRunning - r.startNanos()) / 1000));
            running.put("image-bytes", Long.toString(bytes));
            running.put(TCP_ALIVE_KEY, Integer.toString(r.connectionsAlive()));
            control.send("running", running);
            reapLater(r.pid(), dir);
        } catch (IOException | RuntimeException e) {
            ahead.close();
            if (guarded[0]) {
                guard.close(); // sent its share, perhaps not acknowledged yet: used up, as take leaves it
            }
            if (!released) {
                daemon.abandon(); // the process never ran: nothing for the daemon to serve
            }
            throw e;
        } finally {
            if (stub[0] != null) {
                stub[0].discard(); // the images never came whole (or an Error): no restore took it
            }
            priority.close();
        }
        daemon.thread.join();
        if (daemon.failure != null) {
            throw new IOException("the lazy-pages daemon failed: " + daemon.failure.getMessage());
        }
        mlog.info("every page is in: " + daemon.stats.summary());
        control.send("complete", Map.of("stats", daemon.stats.toJson().replace('\n', ' ')));
    }

    private static int threads(Checkpoint cp) {
        int n = 0;
        for (io.lazymig.images.ProcessImage p : cp.processes()) {
            n += p.threads().size();
        }
        return n;
    }

    /** Waits for the held images' files; their writer's failure (a full disk) is the migration's. */
    private static void awaitFiles(FutureTask<Void> files) throws IOException {
        try {
            files.get(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("the image files were not written within " + LISTEN_TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing the image files");
        }
    }

    /** The images, until "start". Returns their bytes; {@code first[0]}: when the first frame came. */
    private long receiveImages(Control control, ImageReceiver receiver, long[] first) throws IOException {
        int frames = 0;
        long writing = 0; // the rest is B's sending, the network and TLS (for the debug log)
        while (true) {
            Frame f = control.read();
            if (first[0] == 0) {
                first[0] = System.nanoTime();
            }
            if (f.type() == FrameType.CONTROL) {
                Map<String, String> m = Control.decode(f.payload());
                if (!"start".equals(m.get("kind"))) {
                    throw new ProtocolException(peer + " sent '" + m.get("kind") + "' where the images belong");
                }
                log.debug("agent: {} image frames in {} us from the first, {} us of them taking them in (held or written)",
                        frames, (System.nanoTime() - first[0]) / 1000, writing / 1000);
                return receiver.received();
            }
            long tWrite = System.nanoTime();
            receiver.write(f.payload());
            writing += System.nanoTime() - tWrite;
            if (++frames > ImageReceiver.MAX_FILES * 8) {
                throw new ProtocolException(peer + " sent more image parts than a process has");
            }
        }
    }

    /**
     * The migration's lazy-pages daemon, on a thread of its own: connects to B's page server at
     * once (on a second thread), takes the checkpoint the session read as soon as the images are
     * in, then listens for restore and serves until every page is in.
     */
    private final class Daemon {
        final CountDownLatch imagesReady = new CountDownLatch(1);
        /** Read by the session once the images are in, set before {@link #imagesReady} opens (null: no images). */
        volatile Checkpoint checkpoint;
        final CountDownLatch listening = new CountDownLatch(1);
        final Thread thread;
        final Path sock;
        volatile Throwable failure;
        volatile Stats stats;
        volatile long connectedNanos;
        volatile long listeningNanos;

        Daemon(InetSocketAddress pageServer, Path sock, Path images, Control control) {
            Agent.Options o = agent.options();
            this.sock = sock;
            LazyPagesDaemon.Options dopts = new LazyPagesDaemon.Options(sock, images, o.faultAroundBytes(), o.chunkBytes(),
                    o.chunksInFlight(), o.idleTimeoutSeconds(), null);
            PrintStream progress = new PrintStream(new ProgressRelay(control), false, StandardCharsets.UTF_8);
            thread = new Thread(() -> {
                RemotePageSource source = new RemotePageSource(pageServer, o.key(),
                        java.time.Duration.ofSeconds(RECONNECT_SECONDS));
                // Connecting on a thread of its own: this one allocates the receive buffers (5 MiB,
                // zeroed and faulted in: 2-150 ms on the loaded test machine) while the images come,
                // then takes the checkpoint as soon as they are in.
                FutureTask<Void> connecting = new FutureTask<>(() -> {
                    source.connect(true); // B's page server lets it authenticate before the freeze
                    connectedNanos = System.nanoTime();
                    return null;
                });
                Thread connector = new Thread(connecting, "lazy-pages connect " + sock.getParent().getFileName());
                connector.setDaemon(true);
                connector.start();
                boolean running = false;
                UnixSocket listener = null;
                try {
                    // Listening from the start: restore's connect and its uffd then wait in the backlog
                    // for this daemon, never for its start after the images (4 threads started and the
                    // source's state made: 0.5-11 ms on the loaded bench host, restore waiting 10 ms).
                    listener = UnixSocket.listen(sock, 10);
                    long tAlloc = System.nanoTime();
                    source.allocateBuffers(dopts.maxFetchBytes());
                    log.debug("agent: the daemon's receive buffers in {} us", (System.nanoTime() - tAlloc) / 1000);
                    if (!imagesReady.await(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                        throw new IOException("no images within " + LISTEN_TIMEOUT_SECONDS + " s");
                    }
                    Checkpoint cp = checkpoint;
                    if (cp == null) {
                        throw new IOException("no checkpoint to serve");
                    }
                    connected(connecting);
                    // Ready for restore's handoff: B's page server connected and the checkpoint in hand,
                    // as when a daemon listens; what it starts next, restore no longer waits for.
                    listeningNanos = System.nanoTime();
                    listening.countDown();
                    running = true; // from here runRemote owns the source and closes it
                    stats = LazyPagesDaemon.runRemote(dopts, cp, source, progress, listener);
                } catch (Throwable e) {
                    failure = e;
                    if (!running) {
                        closeWhenConnected(connecting, source);
                    }
                } finally {
                    if (listener != null) {
                        listener.close(); // accepted and closed already, or a failure: restore's connect is refused
                    }
                    listening.countDown();
                }
            }, "lazy-pages " + sock.getParent().getFileName());
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        /** Waits for the connecting thread; its failure is this daemon's. */
        private void connected(FutureTask<Void> connecting) throws IOException, InterruptedException {
            try {
                connecting.get();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
            }
        }

        /** Closes the source once the connecting thread is done with it (within its handshake deadlines). */
        private void closeWhenConnected(FutureTask<Void> connecting, RemotePageSource source) {
            boolean interrupted = false;
            while (!connecting.isDone()) { // not cancelled: a connection made meanwhile would be left open
                try {
                    connecting.get();
                } catch (ExecutionException e) {
                    break; // it failed: nothing open
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            try {
                source.close();
            } catch (IOException e) {
                log.debug("agent: closing the page source: {}", e.getMessage());
            }
        }

        void awaitListening() throws IOException {
            try {
                if (!listening.await(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS) || failure != null) {
                    throw new IOException("the lazy-pages daemon did not start: "
                            + (failure == null ? "timeout" : failure.getMessage()));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the lazy-pages daemon");
            }
        }

        /** The migration failed before restore handed anything over: ends the daemon wherever it waits. */
        void abandon() {
            imagesReady.countDown();
            try {
                if (listening.await(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS) && failure == null && thread.isAlive()) {
                    io.lazymig.jni.UnixSocket.connect(sock).close(); // restore's EOF before any task: the daemon ends
                }
                thread.join(TimeUnit.SECONDS.toMillis(LISTEN_TIMEOUT_SECONDS));
            } catch (IOException | InterruptedException e) {
                log.debug("agent: the abandoned daemon: {}", e.getMessage());
            }
        }
    }

    /** The restored process is this JVM's child: reaped when it exits, its status logged. */
    private static void reapLater(int pid, Path dir) {
        MigrationLog exitLog;
        try {
            exitLog = new MigrationLog(dir.getFileName().toString(), dir.resolve("migration.log"));
        } catch (IOException e) {
            exitLog = null;
        }
        MigrationLog l = exitLog;
        Thread t = new Thread(() -> {
            try {
                WaitStatus st = Ptrace.waitpid(pid);
                while (!st.terminated()) {
                    st = Ptrace.waitpid(pid);
                }
                if (l != null) {
                    l.info("process " + pid + " ended: " + st.describe());
                }
            } catch (NativeException e) {
                log.debug("agent: waitpid({}): {}", pid, e.getMessage());
            } finally {
                if (l != null) {
                    l.close();
                }
            }
        }, "reaper " + pid);
        t.setDaemon(true);
        t.start();
    }

    /** Why this migration cannot be taken, or null: checked before B freezes anything. */
    private String refusal(int pid, boolean anyPid) {
        Agent.Options o = agent.options();
        if (pid <= 0) {
            return "no process id in the request";
        }
        if (!Files.isExecutable(o.stub())) {
            return "the restore stub " + o.stub() + " is missing on this host";
        }
        if (!anyPid && Files.exists(Path.of("/proc", Integer.toString(pid)))) {
            return "pid " + pid + " is taken on this host; migrate with --any-pid to restore the process under another pid";
        }
        return null;
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
