package io.lazymig.images;

import com.google.protobuf.ByteString;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.file_perms_entry;
import io.lazymig.images.proto.sk_shutdown;
import io.lazymig.images.proto.unix_sk_entry;
import java.util.List;

/** {@link UnixSock} ↔ a UNIXSK entry of files.img with its unix_sk_entry (CRIU's usk); its queue goes to sk-queues.img. */
final class UnixSockCodec implements FileCodec<UnixSock> {
    @Override
    public Class<UnixSock> kind() {
        return UnixSock.class;
    }

    @Override
    public fd_types type() {
        return fd_types.UNIXSK;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(UnixSock s) {
        unix_sk_entry.Builder b = unix_sk_entry.newBuilder().setId(s.id()).setIno((int) s.ino()).setType(s.type())
                .setState(s.state()).setFlags(s.flags()).setUflags(0).setBacklog(s.backlog()).setPeer((int) s.peer())
                .setFown(SocketCodecs.NO_OWNER).setOpts(SocketCodecs.encode(s.opts()))
                .setName(ByteString.copyFrom(s.name())).setShutdown(sk_shutdown.forNumber(s.shutdown()));
        if (s.reconnectsByName()) {
            b.setLmPeerName(ByteString.copyFrom(s.peerName()));
        }
        if (s.mode() >= 0) {
            b.setFilePerms(file_perms_entry.newBuilder().setMode(s.mode()).setUid(s.uid()).setGid(s.gid()));
        }
        return file_entry.newBuilder().setType(fd_types.UNIXSK).setId(s.id()).setUsk(b).build();
    }

    @Override
    public UnixSock decode(file_entry e) {
        String what = "file id " + Integer.toUnsignedString(e.getId());
        if (!e.hasUsk()) {
            throw new IllegalArgumentException(what + " is of type UNIXSK without a usk entry");
        }
        unix_sk_entry s = e.getUsk();
        if (s.getId() != e.getId()) {
            throw new IllegalArgumentException(what + ": its usk entry says id " + Integer.toUnsignedString(s.getId()));
        }
        boolean perms = s.hasFilePerms();
        return new UnixSock(e.getId(), Integer.toUnsignedLong(s.getIno()), s.getType(), s.getState(),
                s.getName().toByteArray(), Integer.toUnsignedLong(s.getPeer()), s.getBacklog(), s.getFlags(),
                SocketCodecs.decode(s.getOpts()), s.hasShutdown() ? s.getShutdown().getNumber() : 0,
                perms ? s.getFilePerms().getMode() : -1, perms ? s.getFilePerms().getUid() : 0,
                perms ? s.getFilePerms().getGid() : 0, List.of(), s.getLmPeerName().toByteArray());
    }
}
