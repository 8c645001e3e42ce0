package io.lazymig.images;

import io.lazymig.images.proto.eventpoll_file_entry;
import io.lazymig.images.proto.eventpoll_tfd_entry;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import java.util.ArrayList;
import java.util.List;

/** {@link Epoll} ↔ an EVENTPOLL entry (epfd) with one tfd entry per watched fd, as CRIU writes them. */
final class EpollCodec implements FileCodec<Epoll> {
    @Override
    public Class<Epoll> kind() {
        return Epoll.class;
    }

    @Override
    public fd_types type() {
        return fd_types.EVENTPOLL;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Epoll f) {
        eventpoll_file_entry.Builder ep = eventpoll_file_entry.newBuilder().setId(f.id()).setFlags(f.flags())
                .setFown(RegEntries.NO_OWNER);
        for (EpollWatch w : f.watches()) {
            ep.addTfd(eventpoll_tfd_entry.newBuilder().setId(f.id()).setTfd(w.fd()).setEvents(w.events()).setData(w.data()));
        }
        return file_entry.newBuilder().setType(fd_types.EVENTPOLL).setId(f.id()).setEpfd(ep).build();
    }

    @Override
    public Epoll decode(file_entry e) {
        if (!e.hasEpfd()) {
            throw RegEntries.missing(e, "epfd");
        }
        List<EpollWatch> watches = new ArrayList<>();
        for (eventpoll_tfd_entry t : e.getEpfd().getTfdList()) {
            if (t.getTfd() < 0) {
                throw new IllegalArgumentException("epoll id " + Integer.toUnsignedString(e.getId()) + " watches fd "
                        + Integer.toUnsignedString(t.getTfd()));
            }
            watches.add(new EpollWatch(t.getTfd(), t.getEvents(), t.getData()));
        }
        return new Epoll(e.getId(), e.getEpfd().getFlags(), watches);
    }
}
