package io.lazymig.images;

/** A file opened by path (a regular file): its open flags (O_*) and offset; restore reopens it by path. */
public record RegularFile(int id, String path, int flags, long pos) implements FileObject {
    public RegularFile {
        FileObject.checkId(id);
        FilePaths.check(path);
        FileObject.checkPos(id, pos);
        if (path.equals(DevNull.PATH) || FilePaths.isTerminal(path) || CharDevice.isCharDevicePath(path)) {
            throw new IllegalArgumentException(path + " is not a regular file (it has a kind of its own)");
        }
    }

    @Override
    public String describe() {
        return path;
    }
}
