package io.lazymig.cli;

import io.lazymig.jni.Buffers;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.SystemInfo;
import io.lazymig.jni.Userfaultfd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The probes of {@code lazymig check}, each doing the real thing once. */
final class Probes {
    private Probes() {
    }

    static List<Probe> all() {
        return List.of(
                new Probe("userfaultfd with fork, remap, remove and unmap events", Probes::userfaultfd),
                new Probe("pidfd_open and pidfd_getfd (take a uffd out of a process)", Probes::pidfdGetfd),
                new Probe("PR_SET_MM_MAP (restore the mm of a process)", Probes::prSetMmMap),
                new Probe("network namespaces (ip netns, veth: the test hosts)", Probes::networkNamespaces));
    }

    /** A uffd with CRIU's non-cooperative events enabled, as restore creates for each process. */
    static void userfaultfd() throws Exception {
        long needed = Userfaultfd.FEATURE_EVENT_FORK | Userfaultfd.FEATURE_EVENT_REMAP
                | Userfaultfd.FEATURE_EVENT_REMOVE | Userfaultfd.FEATURE_EVENT_UNMAP;
        long missing = needed & ~Userfaultfd.supportedFeatures();
        if (missing != 0) {
            throw new IOException("kernel lacks userfaultfd features 0x" + Long.toHexString(missing));
        }
        try (Userfaultfd uffd = Userfaultfd.create()) {
            long ioctls = uffd.api(needed);
            if (!Userfaultfd.hasIoctl(ioctls, Userfaultfd.IOCTL_REGISTER)) {
                throw new IOException("UFFDIO_API does not offer UFFDIO_REGISTER");
            }
        }
    }

    /** Takes a copy of one of our own fds through a pidfd, as restore does with the stub's uffd. */
    static void pidfdGetfd() throws Exception {
        try (FileDescriptor devNull = FileDescriptor.open("/dev/null", FileDescriptor.O_RDONLY, 0);
             Pidfd self = Pidfd.open(SystemInfo.getpid());
             FileDescriptor copy = self.getfd(devNull.fd())) {
            if (!Files.readSymbolicLink(Path.of("/proc/self/fd/" + copy.fd())).toString().equals("/dev/null")) {
                throw new IOException("pidfd_getfd returned an fd for another file");
            }
        }
    }

    /** The kernel knows PR_SET_MM_MAP (CONFIG_CHECKPOINT_RESTORE) and we may use it. */
    static void prSetMmMap() throws Exception {
        ByteBuffer size = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
        SystemInfo.prctl(SystemInfo.PR_SET_MM, SystemInfo.PR_SET_MM_MAP_SIZE, Buffers.address(size), 0, 0);
        if (size.getInt(0) != SystemInfo.PRCTL_MM_MAP_SIZE) {
            throw new IOException("kernel's prctl_mm_map is " + size.getInt(0) + " bytes, lazymig was built for "
                    + SystemInfo.PRCTL_MM_MAP_SIZE);
        }
        long capEff = effectiveCapabilities();
        if (!hasCap(capEff, SystemInfo.CAP_CHECKPOINT_RESTORE) && !hasCap(capEff, SystemInfo.CAP_SYS_ADMIN)) {
            throw new IOException("needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (run as root)");
        }
    }

    static void networkNamespaces() throws Exception {
        if (!Files.exists(Path.of("/proc/self/ns/net"))) {
            throw new IOException("kernel without network namespaces (/proc/self/ns/net missing)");
        }
        run("ip", "-V");
        run("unshare", "--net", "ip", "link", "add", "lm-check0", "type", "veth", "peer", "name", "lm-check1");
    }

    static long effectiveCapabilities() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return Long.parseUnsignedLong(line.substring(7).trim(), 16);
            }
        }
        throw new IOException("/proc/self/status has no CapEff line");
    }

    static boolean hasCap(long capEff, int cap) {
        return (capEff >>> cap & 1) != 0;
    }

    /** Runs a command to completion; a missing command or a non-zero exit is an exception. */
    static void run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("'" + command[0] + "' not found (install iproute2 and util-linux)");
        }
        String output = new String(p.getInputStream().readAllBytes()).strip();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("'" + String.join(" ", command) + "' did not finish in 10 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException("'" + String.join(" ", command) + "' failed: "
                    + (output.isEmpty() ? "exit " + p.exitValue() : output.lines().findFirst().orElse("")));
        }
    }
}
