package io.lazymig.restore;

import io.lazymig.images.Timerfd;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/**
 * A timerfd: timerfd_create on its clock with O_NONBLOCK as at dump, disarmed; {@link TimerfdArming}
 * arms it with the other timers, last, so that it goes on from where it was.
 */
final class TimerfdOpener implements FileOpener<Timerfd> {
    @Override
    public Class<Timerfd> kind() {
        return Timerfd.class;
    }

    @Override
    public long open(Injector in, Timerfd file, int fd, ParkedStdio stdio) throws IOException {
        return in.call("timerfd_create for fd " + fd, Syscalls.TIMERFD_CREATE, file.clockId(),
                file.flags() & FileDescriptor.O_NONBLOCK);
    }

    @Override
    public long position(Timerfd file) {
        return -1;
    }
}
