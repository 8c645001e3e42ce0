package io.lazymig.restore;

import io.lazymig.images.Inotify;
import io.lazymig.images.InotifyWatch;
import io.lazymig.jni.Errno;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An inotify instance: inotify_init1, then each watch added again by its path and mask (IN_DONT_FOLLOW:
 * the path names the watched file itself), in ascending order of watch descriptor. The kernel hands
 * descriptors out counting up from 1 (cyclically), so a descriptor below the one wanted is removed and
 * the watch added again until it gets its number, as CRIU does; the IN_IGNORED events the removals
 * queue are read away before the fd gets its own flags back. Events queued at dump are not restored.
 */
final class InotifyOpener implements FileOpener<Inotify> {
    /** How many descriptors one watch may skip before restore gives up on its number. */
    static final int MAX_SKIPPED = 65536;
    private static final int DRAIN_BUFFER = 4096;

    @Override
    public Class<Inotify> kind() {
        return Inotify.class;
    }

    @Override
    public long open(Injector in, Inotify file, int fd, ParkedStdio stdio) throws IOException {
        long ifd = in.call("inotify_init1 for fd " + fd, Syscalls.INOTIFY_INIT1, Syscalls.IN_NONBLOCK);
        boolean skipped = false;
        for (InotifyWatch w : file.watches()) {
            skipped |= add(in, ifd, fd, w);
        }
        if (skipped) {
            drain(in, ifd, fd);
        }
        if ((file.flags() & FileDescriptor.O_NONBLOCK) == 0) {
            in.call("fcntl(F_SETFL) for fd " + fd, Syscalls.FCNTL, ifd, Syscalls.F_SETFL, 0);
        }
        return ifd;
    }

    /** Adds {@code w}; true when descriptors had to be skipped (IN_IGNORED events queued). */
    private static boolean add(Injector in, long ifd, int fd, InotifyWatch w) throws IOException {
        for (int skipped = 0; skipped <= MAX_SKIPPED; skipped++) {
            in.resetScratch();
            long path = in.putString(w.path());
            long wd = in.raw(Syscalls.INOTIFY_ADD_WATCH, ifd, path,
                    Integer.toUnsignedLong(w.mask() | Syscalls.IN_DONT_FOLLOW));
            if (Syscalls.isError(wd)) {
                throw new RestoreException("process " + in.pid() + " fd " + fd + " (inotify): cannot watch " + w.path()
                        + " again (watch " + w.wd() + "): " + Errno.name(Syscalls.errno(wd)) + " ("
                        + Errno.text(Syscalls.errno(wd)) + ")");
            }
            if (wd == w.wd()) {
                return skipped > 0;
            }
            if (wd > w.wd()) {
                throw new RestoreException("process " + in.pid() + " fd " + fd + " (inotify): watch " + w.wd() + " on "
                        + w.path() + " got descriptor " + wd + ", past its own (two watches on one file?)");
            }
            in.call("inotify_rm_watch", Syscalls.INOTIFY_RM_WATCH, ifd, wd);
        }
        throw new RestoreException("process " + in.pid() + " fd " + fd + " (inotify): watch " + w.wd() + " on " + w.path()
                + " is more than " + MAX_SKIPPED + " descriptors away");
    }

    /** Reads the queued IN_IGNORED events of the removed descriptors until the fd is empty (EAGAIN). */
    private static void drain(Injector in, long ifd, int fd) throws IOException {
        in.resetScratch();
        long buf = in.put(ByteBuffer.allocateDirect(DRAIN_BUFFER));
        for (int i = 0; i < MAX_SKIPPED; i++) {
            long n = in.raw(Syscalls.READ, ifd, buf, DRAIN_BUFFER);
            if (Syscalls.isError(n) && Syscalls.errno(n) == Errno.EAGAIN) {
                return;
            }
            if (Syscalls.isError(n) || n == 0) {
                throw new RestoreException("process " + in.pid() + " fd " + fd + " (inotify): reading the events of "
                        + "the skipped descriptors: " + (n == 0 ? "EOF" : Errno.name(Syscalls.errno(n))));
            }
        }
    }

    @Override
    public long position(Inotify file) {
        return -1;
    }
}
