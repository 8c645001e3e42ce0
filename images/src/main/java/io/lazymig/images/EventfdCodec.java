package io.lazymig.images;

import io.lazymig.images.proto.eventfd_file_entry;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;

/** {@link Eventfd} ↔ an EVENTFD entry (efd); the semaphore flag in lazymig's own field. */
final class EventfdCodec implements FileCodec<Eventfd> {
    @Override
    public Class<Eventfd> kind() {
        return Eventfd.class;
    }

    @Override
    public fd_types type() {
        return fd_types.EVENTFD;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Eventfd f) {
        eventfd_file_entry.Builder efd = eventfd_file_entry.newBuilder().setId(f.id()).setFlags(f.flags())
                .setFown(RegEntries.NO_OWNER).setCounter(f.counter());
        if (f.semaphore()) {
            efd.setLazymigSemaphore(true);
        }
        return file_entry.newBuilder().setType(fd_types.EVENTFD).setId(f.id()).setEfd(efd).build();
    }

    @Override
    public Eventfd decode(file_entry e) {
        if (!e.hasEfd()) {
            throw RegEntries.missing(e, "efd");
        }
        eventfd_file_entry efd = e.getEfd();
        return new Eventfd(e.getId(), efd.getFlags(), efd.getCounter(), efd.getLazymigSemaphore());
    }
}
