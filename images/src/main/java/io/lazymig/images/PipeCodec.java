package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.pipe_entry;

/**
 * {@link Pipe} ↔ a PIPE entry (CRIU's pipe_entry: id, pipe_id, flags, fown). Its buffer goes to
 * pipes-data.img ({@link PipeData}); lazymig's own field 1001 marks an external end.
 */
final class PipeCodec implements FileCodec<Pipe> {
    @Override
    public Class<Pipe> kind() {
        return Pipe.class;
    }

    @Override
    public fd_types type() {
        return fd_types.PIPE;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Pipe f) {
        pipe_entry.Builder p = pipe_entry.newBuilder().setId(f.id()).setPipeId(f.pipeId()).setFlags(f.flags())
                .setFown(RegEntries.NO_OWNER);
        if (f.external()) {
            p.setLazymigExternal(true);
        }
        return file_entry.newBuilder().setType(fd_types.PIPE).setId(f.id()).setPipe(p).build();
    }

    @Override
    public Pipe decode(file_entry e) {
        if (!e.hasPipe()) {
            throw new IllegalArgumentException("file id " + Integer.toUnsignedString(e.getId())
                    + " is of type PIPE without a pipe entry");
        }
        pipe_entry p = e.getPipe();
        if (p.getId() != e.getId()) {
            throw new IllegalArgumentException("file id " + Integer.toUnsignedString(e.getId()) + ": its pipe entry has id "
                    + Integer.toUnsignedString(p.getId()));
        }
        return new Pipe(e.getId(), p.getPipeId(), p.getFlags(), p.getLazymigExternal(), PipeBuffer.NONE);
    }
}
