package io.lazymig.images;

/**
 * One end of a pipe (an open file description of it): the pipe's id ({@code pipeId}, its inode at
 * dump: the ends of one pipe, in one process or several, share it), this end's open flags (O_RDONLY
 * or O_WRONLY, O_NONBLOCK) and the pipe's buffer at dump, which both ends carry alike.
 *
 * <p>{@code external}: the pipe's other end was held outside the dump (a supervisor's pipe on
 * stdout, {@code cmd | tee}); dumped only when the operator allowed it (dump --external), without its
 * data, which stays in the source host's pipe; restore connects this end to what the operator names
 * (restore --inherit-fd).
 */
public record Pipe(int id, int pipeId, int flags, boolean external, PipeBuffer buffer) implements FileObject {
    /** O_ACCMODE and O_WRONLY on Linux (images is pure Java; these are the kernel ABI's values). */
    static final int O_ACCMODE = 3;
    static final int O_WRONLY = 1;

    public Pipe {
        FileObject.checkId(id);
        if ((flags & O_ACCMODE) > O_WRONLY) {
            throw new IllegalArgumentException("pipe end " + id + ": access mode " + (flags & O_ACCMODE)
                    + " (a pipe end is O_RDONLY or O_WRONLY)");
        }
        if (buffer == null) {
            throw new IllegalArgumentException("pipe end " + id + ": no buffer (PipeBuffer.NONE when empty)");
        }
        if (external && buffer.length() != 0) {
            throw new IllegalArgumentException("external pipe end " + id + " carries data; it stays on the source");
        }
    }

    /** The name /proc gives it, which the operator uses: "pipe:[12345]". */
    public String resource() {
        return resource(pipeId);
    }

    public static String resource(int pipeId) {
        return "pipe:[" + Integer.toUnsignedString(pipeId) + "]";
    }

    public boolean isWriteEnd() {
        return (flags & O_ACCMODE) == O_WRONLY;
    }

    /** This end with the pipe's buffer (read from pipes-data.img). */
    public Pipe withBuffer(PipeBuffer b) {
        return new Pipe(id, pipeId, flags, external, b);
    }

    @Override
    public String describe() {
        return resource() + (isWriteEnd() ? " (write end" : " (read end") + (external ? ", external)" : ")");
    }
}
