package io.lazymig.dump;

import io.lazymig.images.CharDevice;
import io.lazymig.images.FileObject;
import io.lazymig.jni.Clocks;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.NativeException;
import io.lazymig.jni.Pidfd;
import io.lazymig.jni.Poll;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event fds by their link targets (anon_inode:[eventfd], [timerfd], [signalfd], inotify,
 * [eventpoll]) and the char devices a runtime opens: which are supported, and the reader of each.
 */
final class EventFdKinds {
    private static final Logger log = LoggerFactory.getLogger("lazymig.dump");
    static final String EVENTFD = "anon_inode:[eventfd]";
    static final String TIMERFD = "anon_inode:[timerfd]";
    static final String SIGNALFD = "anon_inode:[signalfd]";
    static final String INOTIFY = "anon_inode:inotify";
    static final String EPOLL = "anon_inode:[eventpoll]";
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private EventFdKinds() {
    }

    /** Whether {@code target} is an event fd or char device lazymig dumps. */
    static boolean supported(String target) {
        return isEventFd(target) || CharDevice.isCharDevicePath(target);
    }

    static boolean isEventFd(String target) {
        return target.equals(EVENTFD) || target.equals(TIMERFD) || target.equals(SIGNALFD) || target.equals(INOTIFY)
                || target.equals(EPOLL);
    }

    /** The short name of an event fd kind, for messages. */
    static String name(String target) {
        return switch (target) {
            case EVENTFD -> "eventfd";
            case TIMERFD -> "timerfd";
            case SIGNALFD -> "signalfd";
            case INOTIFY -> "inotify";
            case EPOLL -> "epoll";
            default -> target;
        };
    }

    /** The open file behind event fd or device {@code fd} of process {@code pid}, read from its fdinfo. */
    static FileObject read(int pid, int fd, int id, String target, int flags, long pos, String fdinfo) throws IOException {
        if (CharDevice.isCharDevicePath(target)) {
            return new CharDevice(id, target, flags, pos);
        }
        String what = "process " + pid + " fd " + fd + " (" + name(target) + ")";
        FdInfoLines info = new FdInfoLines(what, fdinfo);
        return switch (target) {
            case EVENTFD -> EventfdReader.read(id, flags, info);
            case TIMERFD -> TimerfdReader.read(id, flags, info, EventFdKinds::clock, bootId());
            case SIGNALFD -> SignalfdReader.read(id, flags, info);
            case INOTIFY -> inotify(pid, fd, id, flags, info, what);
            case EPOLL -> EpollReader.read(id, flags, info);
            default -> throw new IllegalArgumentException(target + " is not an event fd");
        };
    }

    private static FileObject inotify(int pid, int fd, int id, int flags, FdInfoLines info, String what) throws IOException {
        FileObject f = InotifyReader.read(id, flags, info, new ProcWatchPaths(pid, what));
        if (hasQueuedEvents(pid, fd)) {
            log.warn("dump: {} has events queued: they are lost (its watches are restored, not its queue; CRIU does the same)",
                    what);
        }
        return f;
    }

    /** Whether an inotify fd has events to read (polled on a copy of it, which consumes nothing). */
    private static boolean hasQueuedEvents(int pid, int fd) throws IOException {
        try (Pidfd p = Pidfd.open(pid); FileDescriptor copy = p.getfd(fd)) {
            short[] revents = new short[1];
            return Poll.poll(new int[] {copy.fd()}, new short[] {Poll.POLLIN}, revents, 0) > 0
                    && (revents[0] & Poll.POLLIN) != 0;
        }
    }

    private static long clock(int clockId) throws IOException {
        try {
            return Clocks.nanos(clockId);
        } catch (NativeException e) {
            throw new IOException("cannot read clock " + clockId + ": " + e.getMessage(), e);
        }
    }

    /** This boot's id ("" when the kernel has none to show). */
    static String bootId() throws IOException {
        return Files.isReadable(BOOT_ID) ? Files.readString(BOOT_ID).trim() : "";
    }
}
