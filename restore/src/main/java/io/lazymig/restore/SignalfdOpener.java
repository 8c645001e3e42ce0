package io.lazymig.restore;

import io.lazymig.images.Signalfd;
import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.Ptrace;
import io.lazymig.jni.Syscalls;
import java.io.IOException;

/** A signalfd: signalfd4 with its mask (the kernel's 8-byte sigset) and O_NONBLOCK as at dump. */
final class SignalfdOpener implements FileOpener<Signalfd> {
    @Override
    public Class<Signalfd> kind() {
        return Signalfd.class;
    }

    @Override
    public long open(Injector in, Signalfd file, int fd, ParkedStdio stdio) throws IOException {
        in.resetScratch();
        long mask = in.put(Stub.struct(Ptrace.KERNEL_SIGSET_SIZE).putLong(0, file.sigmask()));
        return in.call("signalfd4 for fd " + fd, Syscalls.SIGNALFD4, -1, mask, Ptrace.KERNEL_SIGSET_SIZE,
                file.flags() & FileDescriptor.O_NONBLOCK);
    }

    @Override
    public long position(Signalfd file) {
        return -1;
    }
}
