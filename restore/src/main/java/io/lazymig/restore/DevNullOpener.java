package io.lazymig.restore;

import io.lazymig.images.DevNull;
import java.io.IOException;

/** /dev/null: opened with its flags (its offset is put back too, harmlessly, as CRIU does). */
final class DevNullOpener implements FileOpener<DevNull> {
    @Override
    public Class<DevNull> kind() {
        return DevNull.class;
    }

    @Override
    public long open(Injector in, DevNull file, int fd, ParkedStdio stdio) throws IOException {
        return PathOpener.open(in, DevNull.PATH, file.flags(), fd);
    }

    @Override
    public long position(DevNull file) {
        return file.pos();
    }
}
