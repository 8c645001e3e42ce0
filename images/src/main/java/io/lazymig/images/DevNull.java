package io.lazymig.images;

/** /dev/null, opened with {@code flags}. CRIU stores it as a regular file with its char-device mode. */
public record DevNull(int id, int flags, long pos) implements FileObject {
    public static final String PATH = "/dev/null";

    public DevNull {
        FileObject.checkId(id);
        FileObject.checkPos(id, pos);
    }

    @Override
    public String describe() {
        return PATH;
    }
}
