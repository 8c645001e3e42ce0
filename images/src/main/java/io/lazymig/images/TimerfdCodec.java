package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.timerfd_entry;

/** {@link Timerfd} ↔ a TIMERFD entry (tfd); the clock reading and boot id in lazymig's own fields. */
final class TimerfdCodec implements FileCodec<Timerfd> {
    @Override
    public Class<Timerfd> kind() {
        return Timerfd.class;
    }

    @Override
    public fd_types type() {
        return fd_types.TIMERFD;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Timerfd f) {
        timerfd_entry.Builder t = timerfd_entry.newBuilder().setId(f.id()).setFlags(f.flags()).setFown(RegEntries.NO_OWNER)
                .setClockid(f.clockId()).setTicks(f.ticks()).setSettimeFlags(f.settimeFlags()).setVsec(f.valueSec())
                .setVnsec(f.valueNsec()).setIsec(f.intervalSec()).setInsec(f.intervalNsec())
                .setLazymigReadSec(f.readSec()).setLazymigReadNsec(f.readNsec());
        if (!f.bootId().isEmpty()) {
            t.setLazymigBootId(f.bootId());
        }
        return file_entry.newBuilder().setType(fd_types.TIMERFD).setId(f.id()).setTfd(t).build();
    }

    @Override
    public Timerfd decode(file_entry e) {
        if (!e.hasTfd()) {
            throw RegEntries.missing(e, "tfd");
        }
        timerfd_entry t = e.getTfd();
        return new Timerfd(e.getId(), t.getFlags(), t.getClockid(), t.getTicks(), t.getSettimeFlags(), t.getVsec(),
                t.getVnsec(), t.getIsec(), t.getInsec(), t.getLazymigReadSec(), t.getLazymigReadNsec(),
                t.getLazymigBootId());
    }
}
