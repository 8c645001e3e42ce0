package io.lazymig.jni;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real AF_UNIX sockets (socketpairs and pathname sockets in a temp dir); no root needed. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UnixSocketTest {
    /** CRIU's "ReSTore Finished" word. */
    private static final int RESTORE_FINISHED = 0x52535446;

    @TempDir
    Path tmp;

    @Test
    void constantsComeFromC() {
        assertEquals(108, UnixSocket.SUN_PATH_MAX);
        assertEquals(253, UnixSocket.MAX_FDS);
        assertNotEquals(UnixSocket.SOCK_STREAM, UnixSocket.SOCK_SEQPACKET);
        assertNotEquals(0, UnixSocket.MSG_CTRUNC);
        assertNotEquals(0, UnixSocket.MSG_NOSIGNAL);
    }

    @Test
    void socketPairCarriesBytesAndOneToThreeFds() throws Exception {
        for (int type : new int[] {UnixSocket.SOCK_STREAM, UnixSocket.SOCK_SEQPACKET}) {
            for (int count = 1; count <= 3; count++) {
                try (UnixSocket.Pair pair = UnixSocket.socketPair(type)) {
                    List<Path> files = new ArrayList<>();
                    List<FileDescriptor> originals = new ArrayList<>();
                    int[] numbers = new int[count];
                    for (int i = 0; i < count; i++) {
                        Path file = tmp.resolve("file-" + type + "-" + i);
                        files.add(file);
                        FileDescriptor f = FileDescriptor.open(file.toString(),
                                FileDescriptor.O_RDWR | FileDescriptor.O_CREAT, 0600);
                        originals.add(f);
                        numbers[i] = f.fd();
                    }
                    ByteBuffer out = ascii("payload-" + count);
                    assertEquals(out.limit(), pair.first().send(out, numbers));
                    assertFalse(out.hasRemaining());
                    originals.forEach(FileDescriptor::close); // the receiver's copies must stand alone

                    ByteBuffer in = ByteBuffer.allocateDirect(64);
                    try (ReceivedMessage msg = pair.second().receive(in, 3)) {
                        assertEquals("payload-" + count, text(in));
                        assertEquals(count, msg.fdCount());
                        for (int i = 0; i < count; i++) {
                            FileDescriptor got = msg.fd(i);
                            assertEquals(files.get(i).toRealPath(), fdTarget(got.fd()), "fd " + i + " in order");
                            assertCloseOnExec(got.fd());
                            // Write through the received fd, read the file by name.
                            got.write(ascii("written via fd " + i));
                            assertEquals("written via fd " + i, Files.readString(files.get(i)));
                        }
                    }
                }
            }
        }
    }

    @Test
    void criuHandshakeRecordsArriveInOrder() throws Exception {
        Path uffdStandIn = Files.writeString(tmp.resolve("uffd-stand-in"), "x");
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM);
                FileDescriptor fd = FileDescriptor.open(uffdStandIn.toString(), FileDescriptor.O_RDONLY, 0)) {
            UnixSocket restore = pair.first();
            UnixSocket daemon = pair.second();
            int[] pids = {4242, 4243};
            for (int pid : pids) {
                restore.sendFully(int32(pid));
                ByteBuffer dummy = ByteBuffer.allocateDirect(1); // one zero byte carries the fd
                assertEquals(1, restore.send(dummy, new int[] {fd.fd()}));
            }
            restore.sendFully(int32(-7)); // a zombie: negated pid, nothing follows
            restore.sendFully(int32(RESTORE_FINISHED));
            restore.shutdown(UnixSocket.SHUT_WR);

            for (int pid : pids) {
                ByteBuffer pidBuf = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
                daemon.receiveFully(pidBuf); // must stop at the record boundary, not swallow the fd's byte
                assertEquals(pid, pidBuf.getInt(0));
                ByteBuffer one = ByteBuffer.allocateDirect(1);
                try (ReceivedMessage msg = daemon.receive(one, 1)) {
                    assertEquals(1, msg.bytes());
                    assertEquals(0, one.get(0));
                    assertEquals(1, msg.fdCount());
                    assertEquals(uffdStandIn.toRealPath(), fdTarget(msg.fd(0).fd()));
                }
            }
            ByteBuffer word = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            daemon.receiveFully(word);
            assertEquals(-7, word.getInt(0));
            word.clear();
            daemon.receiveFully(word);
            assertEquals(RESTORE_FINISHED, word.getInt(0));
            ByteBuffer le = word.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(0x46, le.get(0) & 0xff, "host order on x86-64: bytes 46 54 53 52");

            ReceivedMessage eof = daemon.receive(ByteBuffer.allocateDirect(4), 1);
            assertTrue(eof.isEndOfStream());
        }
    }

    @Test
    void aLargerReceiveTakesThePidAndTheDummyByteWithItsFd() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM);
                FileDescriptor devNull = FileDescriptor.open("/dev/null", FileDescriptor.O_RDONLY, 0)) {
            pair.first().sendFully(int32(99));
            pair.first().send(ByteBuffer.allocateDirect(1), new int[] {devNull.fd()});
            ByteBuffer in = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
            int total = 0;
            int fds = 0;
            while (total < 5) { // the kernel may split here; the fd comes with the dummy byte
                try (ReceivedMessage msg = pair.second().receive(in, 1)) {
                    total += msg.bytes();
                    fds += msg.fdCount();
                }
            }
            assertEquals(5, total);
            assertEquals(1, fds);
            assertEquals(99, in.getInt(0));
        }
    }

    @Test
    void pathnameListenConnectAcceptRoundTripWithPeerCredentials() throws Exception {
        Path path = tmp.resolve("lazy-pages.socket");
        try (UnixSocket listener = UnixSocket.listen(path, 10)) {
            assertTrue(Files.exists(path));
            assertEquals("socket", fileType(path));
            try (UnixSocket client = UnixSocket.connect(path); UnixSocket server = listener.accept()) {
                assertNotNull(server);
                client.sendFully(ascii("hello"));
                ByteBuffer in = ByteBuffer.allocateDirect(5);
                server.receiveFully(in);
                assertEquals("hello", text(in));
                server.sendFully(ascii("back"));
                ByteBuffer back = ByteBuffer.allocateDirect(4);
                client.receiveFully(back);
                assertEquals("back", text(back));

                int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
                int gid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
                UnixSocket.Credentials peer = server.peerCredentials();
                assertEquals(new UnixSocket.Credentials(SystemInfo.getpid(), uid, gid), peer);
                assertEquals(SystemInfo.getpid(), client.peerCredentials().pid());
                assertAcceptedSocketIsCloseOnExecAndBlocking(server);
            }
        }
    }

    @Test
    void seqpacketListenerKeepsRecordBoundaries() throws Exception {
        Path path = tmp.resolve("seq.socket");
        try (UnixSocket listener = UnixSocket.listen(path, UnixSocket.SOCK_SEQPACKET, 1);
                UnixSocket client = UnixSocket.connect(path, UnixSocket.SOCK_SEQPACKET);
                UnixSocket server = listener.accept()) {
            client.send(ascii("one"));
            client.send(ascii("two"));
            ByteBuffer in = ByteBuffer.allocateDirect(16);
            assertEquals(3, server.receive(in, 0).bytes());
            assertEquals(3, server.receive(in, 0).bytes());
            assertEquals("onetwo", text(in));

            client.send(ascii("too long for the buffer"));
            NativeException e = assertThrows(NativeException.class, () -> server.receive(ByteBuffer.allocateDirect(4), 0));
            assertEquals(Errno.EMSGSIZE, e.errno());
            assertThat(e.getMessage(), containsString("MSG_TRUNC"));
        }
    }

    @Test
    void staleSocketFileIsReplaced() throws Exception {
        Path path = tmp.resolve("stale.socket");
        UnixSocket.listen(path, 1).close(); // closing leaves the socket file behind
        assertEquals("socket", fileType(path));
        try (UnixSocket listener = UnixSocket.listen(path, 1)) {
            assertConnects(listener, path);
        }
    }

    @Test
    void refusesToUnlinkAnythingThatIsNotASocket() throws Exception {
        Path file = Files.writeString(tmp.resolve("precious.txt"), "keep me");
        NativeException e = assertThrows(NativeException.class, () -> UnixSocket.listen(file, 1));
        assertEquals(Errno.EEXIST, e.errno());
        assertThat(e.getMessage(), containsString("not a socket"));
        assertEquals("keep me", Files.readString(file));

        Path dir = Files.createDirectory(tmp.resolve("a-dir"));
        assertEquals(Errno.EEXIST, assertThrows(NativeException.class, () -> UnixSocket.listen(dir, 1)).errno());
        assertTrue(Files.isDirectory(dir));

        // A symlink to a live socket is not a socket either (lstat): neither it nor its target goes.
        Path real = tmp.resolve("real.socket");
        try (UnixSocket listener = UnixSocket.listen(real, 1)) {
            Path link = Files.createSymbolicLink(tmp.resolve("link.socket"), real);
            assertEquals(Errno.EEXIST, assertThrows(NativeException.class, () -> UnixSocket.listen(link, 1)).errno());
            assertTrue(Files.isSymbolicLink(link));
            assertEquals("socket", fileType(real));
            assertConnects(listener, real);
        }
    }

    @Test
    void pathLengthIsCheckedAgainstSunPath() throws Exception {
        Path dir = tmp.toRealPath();
        int room = UnixSocket.SUN_PATH_MAX - 1 - dir.toString().length() - 1; // bytes left for the name
        assertTrue(room > 8, "temp dir path too long for this test: " + dir);
        Path longest = dir.resolve("s".repeat(room));
        assertEquals(UnixSocket.SUN_PATH_MAX - 1, longest.toString().length());
        try (UnixSocket listener = UnixSocket.listen(longest, 1)) {
            assertConnects(listener, longest);
        }
        Path tooLong = dir.resolve("s".repeat(room + 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UnixSocket.listen(tooLong, 1));
        assertThat(e.getMessage(), containsString("sun_path holds at most 107"));
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.connect(tooLong));
        assertFalse(Files.exists(tooLong));
    }

    @Test
    void connectFailuresNameTheCall() {
        Path missing = tmp.resolve("nobody-here.socket");
        NativeException e = assertThrows(NativeException.class, () -> UnixSocket.connect(missing));
        assertEquals(Errno.ENOENT, e.errno());
        assertThat(e.getMessage(), containsString("connect(" + missing + "): ENOENT"));
    }

    @Test
    void connectToAClosedListenerIsRefused() throws Exception {
        Path path = tmp.resolve("closed.socket");
        UnixSocket.listen(path, 1).close();
        assertEquals(Errno.ECONNREFUSED, assertThrows(NativeException.class, () -> UnixSocket.connect(path)).errno());
    }

    @Test
    void endOfStream() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            pair.first().sendFully(ascii("ab"));
            pair.first().close();
            ByteBuffer word = ByteBuffer.allocateDirect(4);
            EOFException e = assertThrows(EOFException.class, () -> pair.second().receiveFully(word));
            assertThat(e.getMessage(), containsString("2 of 4 bytes received"));
            assertThat(e.getMessage(), containsString("end of stream"));

            ReceivedMessage eof = pair.second().receive(ByteBuffer.allocateDirect(4), 1);
            assertEquals(0, eof.bytes());
            assertTrue(eof.isEndOfStream());
            assertThrows(EOFException.class, () -> pair.second().receiveFully(ByteBuffer.allocateDirect(4)));

            // The other direction: the peer is gone, so a send is EPIPE (and no SIGPIPE kills the JVM).
            NativeException pipe = assertThrows(NativeException.class, () -> pair.second().send(ascii("x")));
            assertEquals(Errno.EPIPE, pipe.errno());
            assertThat(pipe.getMessage(), containsString("sendmsg(fd "));
        }
    }

    @Test
    void shutdownWriteGivesThePeerEndOfStream() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            pair.first().shutdown(UnixSocket.SHUT_WR);
            assertTrue(pair.second().receive(ByteBuffer.allocateDirect(1), 0).isEndOfStream());
            pair.second().sendFully(ascii("still open this way"));
            ByteBuffer in = ByteBuffer.allocateDirect(19);
            pair.first().receiveFully(in);
            assertEquals("still open this way", text(in));
        }
    }

    @Test
    void truncatedControlDataIsAnErrorAndLeaksNoFd() throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            files.add(Files.writeString(tmp.resolve("ctrunc-" + i), "f" + i).toRealPath());
        }
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            for (int sent = 2; sent <= 3; sent++) {
                sendFiles(pair.first(), files.subList(0, sent));
                NativeException e = assertThrows(NativeException.class,
                        () -> pair.second().receive(ByteBuffer.allocateDirect(8), 1));
                assertEquals(Errno.EMSGSIZE, e.errno());
                assertThat(e.getMessage(), containsString("MSG_CTRUNC"));
                assertThat(e.getMessage(), containsString("recvmsg(fd "));
                assertThat(fdsReferringTo(files), empty());
            }
            // fds where receiveFully expects plain bytes: the same error, nothing kept.
            sendFiles(pair.first(), files.subList(0, 1));
            NativeException e = assertThrows(NativeException.class,
                    () -> pair.second().receiveFully(ByteBuffer.allocateDirect(1)));
            assertEquals(Errno.EMSGSIZE, e.errno());
            assertThat(fdsReferringTo(files), empty());
            // maxFds = 0 on an fd-carrying message.
            sendFiles(pair.first(), files.subList(0, 1));
            assertEquals(Errno.EMSGSIZE, assertThrows(NativeException.class,
                    () -> pair.second().receive(ByteBuffer.allocateDirect(1), 0)).errno());
            assertThat(fdsReferringTo(files), empty());
        }
    }

    @Test
    void exactlyMaxFdsIsNotTruncated() throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            files.add(Files.writeString(tmp.resolve("exact-" + i), "e" + i).toRealPath());
        }
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            sendFiles(pair.first(), files);
            try (ReceivedMessage msg = pair.second().receive(ByteBuffer.allocateDirect(8), 2)) {
                assertEquals(2, msg.fdCount());
            }
            sendFiles(pair.first(), files.subList(0, 1));
            try (ReceivedMessage msg = pair.second().receive(ByteBuffer.allocateDirect(8), UnixSocket.MAX_FDS)) {
                assertEquals(1, msg.fdCount());
            }
        }
        assertThat(fdsReferringTo(files), empty());
    }

    @Test
    void theKernelLimitOfFdsPerMessage() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_SEQPACKET);
                FileDescriptor devNull = FileDescriptor.open("/dev/null", FileDescriptor.O_RDONLY, 0)) {
            int[] many = new int[UnixSocket.MAX_FDS];
            java.util.Arrays.fill(many, devNull.fd());
            pair.first().send(ascii("m"), many);
            try (ReceivedMessage msg = pair.second().receive(ByteBuffer.allocateDirect(1), UnixSocket.MAX_FDS)) {
                assertEquals(UnixSocket.MAX_FDS, msg.fdCount());
            }
            int[] tooMany = new int[UnixSocket.MAX_FDS + 1];
            java.util.Arrays.fill(tooMany, devNull.fd());
            assertThrows(IllegalArgumentException.class, () -> pair.first().send(ascii("m"), tooMany));
            assertThrows(IllegalArgumentException.class,
                    () -> pair.second().receive(ByteBuffer.allocateDirect(1), UnixSocket.MAX_FDS + 1));
        }
    }

    @Test
    void badInputIsRejectedBeforeC() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            UnixSocket s = pair.first();
            assertThrows(IllegalArgumentException.class, () -> s.send(ByteBuffer.allocate(4)));
            assertThrows(IllegalArgumentException.class, () -> s.sendFully(ByteBuffer.allocate(4)));
            assertThrows(IllegalArgumentException.class, () -> s.receive(ByteBuffer.allocate(4), 1));
            assertThrows(IllegalArgumentException.class, () -> s.receiveFully(ByteBuffer.allocate(4)));
            assertThrows(IllegalArgumentException.class,
                    () -> s.receive(ByteBuffer.allocateDirect(4).asReadOnlyBuffer(), 0));
            assertThrows(IllegalArgumentException.class, () -> s.receive(ByteBuffer.allocateDirect(0), 0));
            assertThrows(IllegalArgumentException.class, () -> s.receive(ByteBuffer.allocateDirect(4), -1));
            assertThrows(IllegalArgumentException.class, () -> s.send(ByteBuffer.allocateDirect(0), new int[] {0}));
            assertThrows(IllegalArgumentException.class, () -> s.send(ByteBuffer.allocateDirect(1), new int[] {-1}));
            assertThrows(IllegalArgumentException.class, () -> s.shutdown(12345));
            assertThrows(IllegalArgumentException.class, () -> s.setReceiveTimeout(Duration.ofSeconds(-1)));
        }
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.socketPair(12345));
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.listen(tmp.resolve("x"), -1));
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.listen(Path.of(""), 1));
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.pathBytes(null));
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.adopt(null));
    }

    @Test
    void closedFdsAreErrorsNotCrashes() throws Exception {
        UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM);
        pair.close();
        pair.close(); // idempotent
        UnixSocket s = pair.first();
        assertFalse(s.isOpen());
        NativeException e = assertThrows(NativeException.class, () -> s.send(ascii("x")));
        assertEquals(Errno.EBADF, e.errno());
        assertThat(e.getMessage(), containsString("sendmsg on a closed socket"));
        assertEquals(Errno.EBADF, assertThrows(NativeException.class,
                () -> s.receive(ByteBuffer.allocateDirect(1), 1)).errno());
        assertEquals(Errno.EBADF, assertThrows(NativeException.class, s::accept).errno());
        assertEquals(Errno.EBADF, assertThrows(NativeException.class, s::peerCredentials).errno());

        // An fd number that is not open is EBADF from sendmsg (a just-closed number could be reused at once).
        try (UnixSocket.Pair live = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            NativeException bad = assertThrows(NativeException.class,
                    () -> live.first().send(ascii("x"), new int[] {Integer.MAX_VALUE}));
            assertEquals(Errno.EBADF, bad.errno());
            // A regular file is not a socket.
            try (FileDescriptor file = FileDescriptor.open(Files.writeString(tmp.resolve("f"), "").toString(),
                    FileDescriptor.O_RDWR, 0); UnixSocket notASocket = UnixSocket.adopt(file.dup())) {
                NativeException notSock = assertThrows(NativeException.class, () -> notASocket.send(ascii("x")));
                assertEquals("ENOTSOCK", Errno.name(notSock.errno()));
            }
        }
    }

    @Test
    void nonBlockingAcceptAndReceiveReturnNull() throws Exception {
        Path path = tmp.resolve("nb.socket");
        try (UnixSocket listener = UnixSocket.listen(path, UnixSocket.SOCK_STREAM | UnixSocket.SOCK_NONBLOCK, 1)) {
            assertNull(listener.accept());
            try (UnixSocket client = UnixSocket.connect(path); UnixSocket server = listener.accept()) {
                assertNotNull(server);
                server.setNonBlocking(true);
                assertNull(server.receive(ByteBuffer.allocateDirect(4), 1));
                NativeException e = assertThrows(NativeException.class,
                        () -> server.receiveFully(ByteBuffer.allocateDirect(4)));
                assertEquals(Errno.EAGAIN, e.errno());
                client.sendFully(ascii("ok"));
                server.setNonBlocking(false);
                ByteBuffer in = ByteBuffer.allocateDirect(2);
                server.receiveFully(in);
                assertEquals("ok", text(in));
            }
        }
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_SEQPACKET | UnixSocket.SOCK_NONBLOCK)) {
            assertNull(pair.first().receive(ByteBuffer.allocateDirect(4), 0));
        }
    }

    @Test
    void receiveAndAcceptTimeoutsReturnNull() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            pair.second().setReceiveTimeout(Duration.ofMillis(50));
            assertNull(pair.second().receive(ByteBuffer.allocateDirect(4), 1));
            NativeException e = assertThrows(NativeException.class,
                    () -> pair.second().receiveFully(ByteBuffer.allocateDirect(4)));
            assertEquals(Errno.EAGAIN, e.errno());
            pair.second().setReceiveTimeout(Duration.ZERO);
            pair.first().sendFully(ascii("z"));
            assertEquals(1, pair.second().receive(ByteBuffer.allocateDirect(4), 1).bytes());
        }
        try (UnixSocket listener = UnixSocket.listen(tmp.resolve("t.socket"), 1)) {
            listener.setReceiveTimeout(Duration.ofNanos(1)); // rounds up to 1 us, not "forever"
            assertNull(listener.accept());
        }
    }

    @Test
    void sendTimeoutOnAFullSocketIsEagain() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            pair.first().setSendTimeout(Duration.ofMillis(20));
            ByteBuffer chunk = ByteBuffer.allocateDirect(64 * 1024);
            NativeException e = assertThrows(NativeException.class, () -> {
                while (true) { // nobody reads: the socket buffer fills up
                    chunk.clear();
                    pair.first().sendFully(chunk);
                }
            });
            assertEquals(Errno.EAGAIN, e.errno());
            assertThat(e.getMessage(), containsString("bytes sent"));
        }
    }

    @Test
    void shutdownWakesABlockedReceiverAndAcceptor() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            Blocking<ReceivedMessage> blocked = Blocking.start(() -> pair.second().receive(ByteBuffer.allocateDirect(4), 1));
            blocked.awaitInSyscall(Ptrace.syscallNumber("recvmsg"));
            pair.second().shutdown(UnixSocket.SHUT_RD);
            assertTrue(blocked.result.get(30, TimeUnit.SECONDS).isEndOfStream());
        }
        try (UnixSocket listener = UnixSocket.listen(tmp.resolve("wake.socket"), 1)) {
            Blocking<UnixSocket> accepting = Blocking.start(listener::accept);
            accepting.awaitInSyscall(Ptrace.syscallNumber("accept4"));
            listener.shutdown(UnixSocket.SHUT_RDWR);
            ExecutionException e = assertThrows(ExecutionException.class, () -> accepting.result.get(30, TimeUnit.SECONDS));
            NativeException cause = (NativeException) e.getCause();
            assertEquals(Errno.EINVAL, cause.errno());
            assertThat(cause.getMessage(), containsString("accept(fd "));
        }
    }

    @Test
    void adoptWrapsAReceivedSocket() throws Exception {
        try (UnixSocket.Pair carrier = UnixSocket.socketPair(UnixSocket.SOCK_STREAM);
                UnixSocket.Pair passed = UnixSocket.socketPair(UnixSocket.SOCK_STREAM)) {
            carrier.first().send(ascii("s"), new int[] {passed.second().fd().fd()});
            passed.second().close();
            try (ReceivedMessage msg = carrier.second().receive(ByteBuffer.allocateDirect(1), 1);
                    UnixSocket adopted = UnixSocket.adopt(msg.fd(0).dup())) {
                adopted.sendFully(ascii("via passed socket"));
                ByteBuffer in = ByteBuffer.allocateDirect(17);
                passed.first().receiveFully(in);
                assertEquals("via passed socket", text(in));
            }
        }
    }

    // ---- helpers ----

    /** Connects to {@code path}, accepts on {@code listener}, and passes one byte across. */
    private static void assertConnects(UnixSocket listener, Path path) throws IOException {
        try (UnixSocket client = UnixSocket.connect(path); UnixSocket server = listener.accept()) {
            assertNotNull(server);
            client.sendFully(ascii("!"));
            ByteBuffer in = ByteBuffer.allocateDirect(1);
            server.receiveFully(in);
            assertEquals("!", text(in));
        }
    }

    private static void sendFiles(UnixSocket to, List<Path> files) throws IOException {
        List<FileDescriptor> open = new ArrayList<>();
        try {
            int[] fds = new int[files.size()];
            for (int i = 0; i < files.size(); i++) {
                FileDescriptor f = FileDescriptor.open(files.get(i).toString(), FileDescriptor.O_RDONLY, 0);
                open.add(f);
                fds[i] = f.fd();
            }
            assertEquals(1, to.send(ascii("d"), fds));
        } finally {
            open.forEach(FileDescriptor::close);
        }
    }

    /** A call run on a thread of its own, whose kernel thread id is known, to see it block. */
    private static final class Blocking<T> {
        interface Call<T> {
            T call() throws IOException;
        }

        final CompletableFuture<Integer> tid = new CompletableFuture<>();
        final CompletableFuture<T> result = new CompletableFuture<>();

        static <T> Blocking<T> start(Call<T> call) {
            Blocking<T> b = new Blocking<>();
            Thread t = new Thread(() -> {
                b.tid.complete(SystemInfo.gettid());
                try {
                    b.result.complete(call.call());
                } catch (Throwable e) {
                    b.result.completeExceptionally(e);
                }
            }, "blocking-call");
            t.setDaemon(true);
            t.start();
            return b;
        }

        /**
         * Returns once the thread sits in syscall {@code nr}, as /proc/self/task/TID/syscall shows it
         * (its first field is the number while the thread is inside a syscall); fails if the call
         * returns instead, or after 30 s with what the file said last.
         */
        void awaitInSyscall(int nr) throws Exception {
            int t = tid.get(30, TimeUnit.SECONDS);
            Path file = Path.of("/proc/self/task/" + t + "/syscall");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                String state = Files.readString(file).trim();
                assertFalse(result.isDone(), "the call returned instead of blocking (thread " + t + ": " + state + ")");
                if (state.startsWith(nr + " ")) {
                    return;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("thread " + t + " not blocked in syscall " + nr + " after 30 s: " + file
                            + " says '" + state + "'");
                }
                Thread.sleep(1); // a /proc state has no wake-up to wait on: look again
            }
        }
    }

    private static ByteBuffer ascii(String s) {
        byte[] b = s.getBytes(US_ASCII);
        ByteBuffer buf = ByteBuffer.allocateDirect(b.length);
        buf.put(b).flip();
        return buf;
    }

    private static ByteBuffer int32(int v) {
        ByteBuffer buf = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        buf.putInt(0, v);
        return buf;
    }

    /** The bytes between 0 and the position, as ASCII. */
    private static String text(ByteBuffer buf) {
        byte[] b = new byte[buf.position()];
        buf.duplicate().flip().get(b);
        return new String(b, US_ASCII);
    }

    private static Path fdTarget(int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd));
    }

    private static void assertCloseOnExec(int fd) throws IOException {
        String fdinfo = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
        String flags = fdinfo.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow();
        int octal = Integer.parseInt(flags.substring("flags:".length()).trim(), 8);
        assertEquals(FileDescriptor.O_CLOEXEC, octal & FileDescriptor.O_CLOEXEC, "O_CLOEXEC on fd " + fd + ": " + flags);
    }

    private static void assertAcceptedSocketIsCloseOnExecAndBlocking(UnixSocket s) throws IOException {
        assertCloseOnExec(s.fd().fd());
        assertEquals(0, s.fd().statusFlags() & FileDescriptor.O_NONBLOCK);
    }

    private static String fileType(Path p) throws IOException {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0140000 ? "socket" : "other";
    }

    /** The fds of this process that refer to any of {@code files}. */
    private static List<String> fdsReferringTo(List<Path> files) throws IOException {
        List<String> hits = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) s::iterator) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (files.contains(target)) {
                        hits.add(fd.getFileName() + " -> " + target);
                    }
                } catch (IOException gone) {
                    // the directory stream's own fd, closed by the time it is read
                }
            }
        }
        return hits;
    }
}
