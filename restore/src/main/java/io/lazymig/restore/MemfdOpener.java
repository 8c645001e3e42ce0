package io.lazymig.restore;

import io.lazymig.images.Memfd;
import java.io.IOException;

/**
 * An open memfd: its object is made once for the tree ({@link ShmemObjects}); each open memfd is
 * that object reopened through restore's fd with its own flags, then seeked to its offset.
 */
final class MemfdOpener implements FileOpener<Memfd> {
    private final ShmemObjects shmems;

    MemfdOpener(ShmemObjects shmems) {
        this.shmems = shmems;
    }

    @Override
    public Class<Memfd> kind() {
        return Memfd.class;
    }

    @Override
    public long open(Injector in, Memfd file, int fd, ParkedStdio stdio) throws IOException {
        if (shmems == null) {
            throw new RestoreException("fd " + fd + " is a memfd, and no shared memory objects are at hand");
        }
        return PathOpener.open(in, shmems.path(file.shmid()), file.flags(), fd);
    }

    @Override
    public long position(Memfd file) {
        return file.pos();
    }
}
