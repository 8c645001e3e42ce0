package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.signalfd_entry;

/** {@link Signalfd} ↔ a SIGNALFD entry (sgfd). */
final class SignalfdCodec implements FileCodec<Signalfd> {
    @Override
    public Class<Signalfd> kind() {
        return Signalfd.class;
    }

    @Override
    public fd_types type() {
        return fd_types.SIGNALFD;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Signalfd f) {
        return file_entry.newBuilder().setType(fd_types.SIGNALFD).setId(f.id()).setSgfd(signalfd_entry.newBuilder()
                .setId(f.id()).setFlags(f.flags()).setFown(RegEntries.NO_OWNER).setSigmask(f.sigmask())).build();
    }

    @Override
    public Signalfd decode(file_entry e) {
        if (!e.hasSgfd()) {
            throw RegEntries.missing(e, "sgfd");
        }
        return new Signalfd(e.getId(), e.getSgfd().getFlags(), e.getSgfd().getSigmask());
    }
}
