package io.lazymig.images;

/**
 * An open FIFO (named pipe): its path, its permission bits ({@code mode}, 07777), this open file's
 * flags, and the FIFO's buffer at dump ({@code pipeId}, its inode at dump, keys the buffer, which
 * every open of the FIFO shares). Restore reopens it by path, made with mkfifo (and its mode) when
 * missing, and puts the bytes back.
 */
public record Fifo(int id, int pipeId, String path, int mode, int flags, PipeBuffer buffer) implements FileObject {
    public Fifo {
        FileObject.checkId(id);
        FilePaths.check(path);
        if ((mode & ~07777) != 0) {
            throw new IllegalArgumentException("FIFO " + path + ": mode 0" + Integer.toOctalString(mode)
                    + " has bits outside 07777");
        }
        if (buffer == null) {
            throw new IllegalArgumentException("FIFO " + path + ": no buffer (PipeBuffer.NONE when empty)");
        }
    }

    public Fifo withBuffer(PipeBuffer b) {
        return new Fifo(id, pipeId, path, mode, flags, b);
    }

    @Override
    public String describe() {
        return "FIFO " + path;
    }
}
