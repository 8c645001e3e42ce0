package io.lazymig.restore;

import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.TcpRepair;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts the TCP connections restored alive back into repair mode in a process about to be killed
 * (the guard, with no lazy-pages daemon left): each socket the process still holds, found by its
 * inode in /proc/PID/fd and taken with pidfd_getfd, gets TCP_REPAIR on, so the kill closes it
 * without a FIN or a reset, and the source, which still has the connection locked, may resume
 * it. Taking them at the kill, rather than holding copies all along, lets a connection the
 * process closes meanwhile end as it would have (a copy would keep it open, its FIN unsent).
 */
final class SilentConnections {
    private static final Logger log = LoggerFactory.getLogger("lazymig.restore");

    private SilentConnections() {
    }

    /** Repair mode on for each socket of {@code pid} whose inode is in {@code inodes}; returns how many. */
    static int silence(int pid, Set<Long> inodes) {
        if (inodes.isEmpty()) {
            return 0;
        }
        Set<Long> done = new HashSet<>();
        try (Pidfd p = Pidfd.open(pid);
             DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "fd"))) {
            for (Path fd : fds) {
                long ino = socketInode(fd);
                if (ino < 0 || !inodes.contains(ino) || done.contains(ino)) {
                    continue;
                }
                try (FileDescriptor sk = p.getfd(Integer.parseInt(fd.getFileName().toString()))) {
                    TcpRepair.setRepair(sk, 1);
                    done.add(ino);
                } catch (NativeException e) {
                    log.warn("restore: process {} fd {}: cannot put socket:[{}] back in repair mode: {}", pid,
                            fd.getFileName(), ino, e.getMessage());
                }
            }
        } catch (IOException e) {
            log.warn("restore: cannot put the connections of process {} back in repair mode: {}", pid, e.getMessage());
        }
        if (!done.isEmpty()) {
            log.info("restore: process {}: {} connection(s) back in repair mode before the kill (no FIN, no reset)", pid,
                    done.size());
        }
        return done.size();
    }

    /** The inode of socket fd {@code link} ("socket:[N]"), or -1 for another file or one closed meanwhile. */
    static long socketInode(Path link) {
        try {
            String t = Files.readSymbolicLink(link).toString();
            return t.startsWith("socket:[") && t.endsWith("]") ? Long.parseLong(t.substring(8, t.length() - 1)) : -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
