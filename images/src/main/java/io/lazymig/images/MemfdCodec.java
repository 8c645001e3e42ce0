package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.memfd_file_entry;

/** {@link Memfd} ↔ a MEMFD entry (memfd): inode_id is the memfd's shmid, the key of its memfd.img entry. */
final class MemfdCodec implements FileCodec<Memfd> {
    @Override
    public Class<Memfd> kind() {
        return Memfd.class;
    }

    @Override
    public fd_types type() {
        return fd_types.MEMFD;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Memfd f) {
        return entry(f.id(), f.flags(), f.pos(), f.shmid());
    }

    static file_entry entry(int id, int flags, long pos, long shmid) {
        return file_entry.newBuilder().setType(fd_types.MEMFD).setId(id).setMemfd(memfd_file_entry.newBuilder()
                .setId(id).setFlags(flags).setPos(pos).setFown(RegEntries.NO_OWNER).setInodeId((int) shmid)).build();
    }

    @Override
    public Memfd decode(file_entry e) {
        if (!e.hasMemfd()) {
            throw RegEntries.missing(e, "memfd");
        }
        memfd_file_entry m = e.getMemfd();
        return new Memfd(e.getId(), m.getFlags(), m.getPos(), Integer.toUnsignedLong(m.getInodeId()));
    }
}
