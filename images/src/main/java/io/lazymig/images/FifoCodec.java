package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.fifo_entry;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.reg_file_entry;

/**
 * {@link Fifo} ↔ a FIFO entry (CRIU's fifo_entry: id, pipe_id, regf_id) and the REG entry regf_id
 * names, which holds the path, the open flags and st_mode (S_IFIFO and the FIFO's permission bits,
 * which CRIU's restore checks against the file), as CRIU writes them. Its buffer
 * goes to fifo-data.img ({@link PipeData}).
 */
final class FifoCodec implements FileCodec<Fifo> {
    static final int S_IFIFO = 0010000;
    static final int S_IFMT = 0170000;

    @Override
    public Class<Fifo> kind() {
        return Fifo.class;
    }

    @Override
    public fd_types type() {
        return fd_types.FIFO;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Fifo f) {
        throw new IllegalStateException("a FIFO's entry needs the file table for its path");
    }

    @Override
    public Fifo decode(file_entry e) {
        throw new IllegalStateException("a FIFO's entry needs the file table for its path");
    }

    @Override
    public file_entry encode(Fifo f, FileTable table) {
        int regId = table.add(id -> RegEntries.entry(id, f.path(), f.flags(), 0, S_IFIFO | f.mode()));
        fifo_entry fifo = fifo_entry.newBuilder().setId(f.id()).setPipeId(f.pipeId()).setRegfId(regId).build();
        return file_entry.newBuilder().setType(fd_types.FIFO).setId(f.id()).setFifo(fifo).build();
    }

    @Override
    public Fifo decode(file_entry e, FileTable table) {
        String id = Integer.toUnsignedString(e.getId());
        if (!e.hasFifo()) {
            throw new IllegalArgumentException("file id " + id + " is of type FIFO without a fifo entry");
        }
        fifo_entry fifo = e.getFifo();
        if (!fifo.hasRegfId()) {
            throw new IllegalArgumentException("FIFO file id " + id + " names no REG entry (regf_id) for its path");
        }
        file_entry reg = table.get(fifo.getRegfId());
        if (reg == null) {
            throw new IllegalArgumentException("FIFO file id " + id + ": no REG entry "
                    + Integer.toUnsignedString(fifo.getRegfId()) + " for its path");
        }
        reg_file_entry r = RegEntries.reg(reg);
        if (r.hasMode() && (r.getMode() & S_IFMT) != S_IFIFO) {
            throw new IllegalArgumentException("FIFO file id " + id + ": its REG entry has mode 0"
                    + Integer.toOctalString(r.getMode()) + ", not a FIFO's");
        }
        int mode = r.hasMode() ? r.getMode() & 07777 : 0600;
        return new Fifo(e.getId(), fifo.getPipeId(), r.getName(), mode, r.getFlags(), PipeBuffer.NONE);
    }
}
