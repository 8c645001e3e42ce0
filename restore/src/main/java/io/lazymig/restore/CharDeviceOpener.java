package io.lazymig.restore;

import io.lazymig.images.CharDevice;
import java.io.IOException;

/** /dev/zero, /dev/full, /dev/random, /dev/urandom: reopened by path with their flags, as CRIU does. */
final class CharDeviceOpener implements FileOpener<CharDevice> {
    @Override
    public Class<CharDevice> kind() {
        return CharDevice.class;
    }

    @Override
    public long open(Injector in, CharDevice file, int fd, ParkedStdio stdio) throws IOException {
        return PathOpener.open(in, file.path(), file.flags(), fd);
    }

    @Override
    public long position(CharDevice file) {
        return file.pos();
    }
}
