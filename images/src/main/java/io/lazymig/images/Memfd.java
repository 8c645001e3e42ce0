package io.lazymig.images;

/**
 * An open memfd: its open flags (O_RDWR, O_NONBLOCK, ...), its offset and the {@link Shmem} object
 * it opens ({@code shmid}, the memfd's inode). The content, name and seals are the object's, dumped
 * once; restore reopens that object for this fd.
 */
public record Memfd(int id, int flags, long pos, long shmid) implements FileObject {
    public Memfd {
        FileObject.checkId(id);
        FileObject.checkPos(id, pos);
        if (shmid <= 0 || shmid > 0xffffffffL) {
            throw new IllegalArgumentException("memfd id " + id + ": shmid " + shmid + " out of range");
        }
    }

    @Override
    public String describe() {
        return "memfd (shmid " + shmid + ")";
    }
}
