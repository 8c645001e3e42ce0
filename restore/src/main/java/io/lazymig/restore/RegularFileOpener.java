package io.lazymig.restore;

import io.lazymig.images.RegularFile;
import java.io.IOException;

/** A regular file: reopened by path with its flags, then seeked to its offset. */
final class RegularFileOpener implements FileOpener<RegularFile> {
    @Override
    public Class<RegularFile> kind() {
        return RegularFile.class;
    }

    @Override
    public long open(Injector in, RegularFile file, int fd, ParkedStdio stdio) throws IOException {
        return PathOpener.open(in, file.path(), file.flags(), fd);
    }

    @Override
    public long position(RegularFile file) {
        return file.pos();
    }
}
