package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.inet_sk_entry;
import io.lazymig.images.proto.ip_opts_entry;

/** {@link InetSocket} ↔ an INETSK entry of files.img with its inet_sk_entry (CRIU's isk). */
final class InetSocketCodec implements FileCodec<InetSocket> {
    @Override
    public Class<InetSocket> kind() {
        return InetSocket.class;
    }

    @Override
    public fd_types type() {
        return fd_types.INETSK;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(InetSocket s) {
        inet_sk_entry.Builder b = inet_sk_entry.newBuilder().setId(s.id()).setIno((int) s.ino()).setFamily(s.family())
                .setType(s.type()).setProto(s.protocol()).setState(s.state()).setSrcPort(s.srcPort())
                .setDstPort(s.dstPort()).setFlags(s.flags()).setBacklog(s.backlog()).setFown(SocketCodecs.NO_OWNER)
                .setOpts(SocketCodecs.encode(s.opts())).setIpOpts(ip_opts_entry.newBuilder().setFreebind(s.freebind()))
                .setLmTcpNodelay(s.nodelay());
        if (s.transparent()) {
            b.setLmTransparent(true);
        }
        for (int w : SocketCodecs.words(s.src())) {
            b.addSrcAddr(w);
        }
        for (int w : SocketCodecs.words(s.dst())) {
            b.addDstAddr(w);
        }
        if (s.family() == InetSocket.AF_INET6) {
            b.setV6Only(s.v6only());
        }
        return file_entry.newBuilder().setType(fd_types.INETSK).setId(s.id()).setIsk(b).build();
    }

    @Override
    public InetSocket decode(file_entry e) {
        String what = "file id " + Integer.toUnsignedString(e.getId());
        if (!e.hasIsk()) {
            throw new IllegalArgumentException(what + " is of type INETSK without an isk entry");
        }
        inet_sk_entry s = e.getIsk();
        if (s.getId() != e.getId()) {
            throw new IllegalArgumentException(what + ": its isk entry says id " + Integer.toUnsignedString(s.getId()));
        }
        if (s.getFamily() != InetSocket.AF_INET && s.getFamily() != InetSocket.AF_INET6) {
            throw new IllegalArgumentException("inet socket " + Integer.toUnsignedString(e.getId()) + ": family "
                    + Integer.toUnsignedString(s.getFamily()) + " is neither AF_INET nor AF_INET6");
        }
        int words = s.getFamily() == InetSocket.AF_INET6 ? 4 : 1;
        return new InetSocket(e.getId(), Integer.toUnsignedLong(s.getIno()), s.getFamily(), s.getType(), s.getProto(),
                s.getState(), SocketCodecs.bytes(s.getSrcAddrList(), words, what + " src_addr"), s.getSrcPort(),
                SocketCodecs.bytes(s.getDstAddrList(), words, what + " dst_addr"), s.getDstPort(), s.getBacklog(),
                s.getFlags(), SocketCodecs.decode(s.getOpts()), s.getV6Only(), s.getLmTcpNodelay(),
                s.hasIpOpts() && s.getIpOpts().getFreebind(), s.getLmTransparent());
    }
}
