package io.lazymig.images;

import io.lazymig.images.proto.fown_entry;
import io.lazymig.images.proto.sk_opts_entry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** What the socket kinds' codecs share: sk_opts_entry, the owner entry, addresses as CRIU's u32 words. */
final class SocketCodecs {
    static final fown_entry NO_OWNER = fown_entry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0)
            .build();
    private static final long MICROS = 1_000_000L;

    private SocketCodecs() {
    }

    static sk_opts_entry encode(SocketOptions o) {
        return sk_opts_entry.newBuilder().setSoSndbuf(o.sndbuf()).setSoRcvbuf(o.rcvbuf())
                .setSoSndTmoSec(o.sndTimeoUsec() / MICROS).setSoSndTmoUsec(o.sndTimeoUsec() % MICROS)
                .setSoRcvTmoSec(o.rcvTimeoUsec() / MICROS).setSoRcvTmoUsec(o.rcvTimeoUsec() % MICROS)
                .setReuseaddr(o.reuseaddr()).setSoReuseport(o.reuseport()).setSoKeepalive(o.keepalive())
                .setSoBroadcast(o.broadcast()).setSoPriority(o.priority()).setSoRcvlowat(o.rcvlowat()).setSoMark(o.mark())
                .setSoPasscred(o.passcred()).setTcpKeepcnt(o.keepcnt()).setTcpKeepidle(o.keepidle())
                .setTcpKeepintvl(o.keepintvl()).build();
    }

    static SocketOptions decode(sk_opts_entry e) {
        if (e.getSoSndTmoUsec() >= MICROS || e.getSoRcvTmoUsec() >= MICROS || e.getSoSndTmoSec() > Integer.MAX_VALUE
                || e.getSoRcvTmoSec() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("socket timeouts out of range: " + e.getSoSndTmoSec() + " s "
                    + e.getSoSndTmoUsec() + " us, " + e.getSoRcvTmoSec() + " s " + e.getSoRcvTmoUsec() + " us");
        }
        return new SocketOptions(e.getSoSndbuf(), e.getSoRcvbuf(), e.getSoSndTmoSec() * MICROS + e.getSoSndTmoUsec(),
                e.getSoRcvTmoSec() * MICROS + e.getSoRcvTmoUsec(), e.getReuseaddr(), e.getSoReuseport(),
                e.getSoKeepalive(), e.getSoBroadcast(), e.getSoPriority(), e.getSoRcvlowat(), e.getSoMark(),
                e.getSoPasscred(), e.getTcpKeepcnt(), e.getTcpKeepidle(), e.getTcpKeepintvl());
    }

    /** An address as CRIU stores it: u32 words read from its bytes in host (little-endian) order. */
    static int[] words(byte[] addr) {
        ByteBuffer b = ByteBuffer.wrap(addr).order(ByteOrder.LITTLE_ENDIAN);
        int[] w = new int[addr.length / 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = b.getInt();
        }
        return w;
    }

    static byte[] bytes(java.util.List<Integer> words, int expectedWords, String what) {
        if (words.size() != expectedWords) {
            throw new IllegalArgumentException(what + " has " + words.size() + " words, expected " + expectedWords);
        }
        ByteBuffer b = ByteBuffer.allocate(expectedWords * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) {
            b.putInt(w);
        }
        return b.array();
    }
}
