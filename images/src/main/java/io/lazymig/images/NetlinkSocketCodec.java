package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.netlink_sk_entry;

/**
 * {@link NetlinkSocket} ↔ a NETLINKSK entry of files.img (CRIU's nlsk). CRIU's entry has no type:
 * lazymig keeps SOCK_DGRAM in its state field's bit 8 (CRIU restores every netlink socket as
 * SOCK_RAW, which the kernel treats alike).
 */
final class NetlinkSocketCodec implements FileCodec<NetlinkSocket> {
    private static final int DGRAM_BIT = 0x100;

    @Override
    public Class<NetlinkSocket> kind() {
        return NetlinkSocket.class;
    }

    @Override
    public fd_types type() {
        return fd_types.NETLINKSK;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(NetlinkSocket s) {
        netlink_sk_entry.Builder b = netlink_sk_entry.newBuilder().setId(s.id()).setIno((int) s.ino())
                .setProtocol(s.protocol()).setState(s.type() == NetlinkSocket.SOCK_DGRAM ? DGRAM_BIT : 0)
                .setFlags(s.flags()).setPortid((int) s.portid()).setDstPortid((int) s.dstPortid())
                .setDstGroup(s.dstGroup()).setFown(SocketCodecs.NO_OWNER).setOpts(SocketCodecs.encode(s.opts()));
        if (s.groups() != 0) {
            b.addGroups(s.groups());
        }
        return file_entry.newBuilder().setType(fd_types.NETLINKSK).setId(s.id()).setNlsk(b).build();
    }

    @Override
    public NetlinkSocket decode(file_entry e) {
        String what = "file id " + Integer.toUnsignedString(e.getId());
        if (!e.hasNlsk()) {
            throw new IllegalArgumentException(what + " is of type NETLINKSK without an nlsk entry");
        }
        netlink_sk_entry s = e.getNlsk();
        if (s.getGroupsCount() > 1) {
            throw new IllegalArgumentException(what + ": netlink groups above 32 are not supported");
        }
        return new NetlinkSocket(e.getId(), Integer.toUnsignedLong(s.getIno()),
                (s.getState() & DGRAM_BIT) != 0 ? NetlinkSocket.SOCK_DGRAM : NetlinkSocket.SOCK_RAW, s.getProtocol(),
                Integer.toUnsignedLong(s.getPortid()), s.getGroupsCount() == 0 ? 0 : s.getGroups(0),
                Integer.toUnsignedLong(s.getDstPortid()), s.getDstGroup(), s.getFlags(), SocketCodecs.decode(s.getOpts()));
    }
}
