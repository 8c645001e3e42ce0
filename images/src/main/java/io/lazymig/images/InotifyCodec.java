package io.lazymig.images;

import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.fh_entry;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.inotify_file_entry;
import io.lazymig.images.proto.inotify_wd_entry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * {@link Inotify} ↔ an INOTIFY entry (ify) with one wd entry per watch: the file handle as CRIU keeps
 * it (its bytes in 16 little-endian words), the path in the handle's path field.
 */
final class InotifyCodec implements FileCodec<Inotify> {
    private static final int HANDLE_WORDS = InotifyWatch.MAX_HANDLE_BYTES / 8;

    @Override
    public Class<Inotify> kind() {
        return Inotify.class;
    }

    @Override
    public fd_types type() {
        return fd_types.INOTIFY;
    }

    @Override
    public boolean decodes(file_entry e) {
        return true;
    }

    @Override
    public file_entry encode(Inotify f) {
        inotify_file_entry.Builder ify = inotify_file_entry.newBuilder().setId(f.id()).setFlags(f.flags())
                .setFown(RegEntries.NO_OWNER);
        for (InotifyWatch w : f.watches()) {
            byte[] handle = HexFormat.of().parseHex(w.handleHex());
            ByteBuffer words = ByteBuffer.allocate(InotifyWatch.MAX_HANDLE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            words.put(handle).clear();
            fh_entry.Builder fh = fh_entry.newBuilder().setBytes(handle.length).setType(w.handleType()).setPath(w.path());
            for (int i = 0; i < HANDLE_WORDS; i++) {
                fh.addHandle(words.getLong(i * 8));
            }
            ify.addWd(inotify_wd_entry.newBuilder().setId(f.id()).setIIno(w.ino()).setMask(w.mask())
                    .setIgnoredMask(w.ignoredMask()).setSDev(w.dev()).setWd(w.wd()).setFHandle(fh));
        }
        return file_entry.newBuilder().setType(fd_types.INOTIFY).setId(f.id()).setIfy(ify).build();
    }

    @Override
    public Inotify decode(file_entry e) {
        if (!e.hasIfy()) {
            throw RegEntries.missing(e, "ify");
        }
        List<InotifyWatch> watches = new ArrayList<>();
        for (inotify_wd_entry wd : e.getIfy().getWdList()) {
            fh_entry fh = wd.getFHandle();
            String what = "inotify id " + Integer.toUnsignedString(e.getId()) + " watch " + Integer.toUnsignedString(wd.getWd());
            if (!fh.hasPath()) {
                throw new IllegalArgumentException(what + " has no path (lazymig watches the path again)");
            }
            if (Integer.compareUnsigned(fh.getBytes(), InotifyWatch.MAX_HANDLE_BYTES) > 0
                    || fh.getHandleCount() * 8 < fh.getBytes()) {
                throw new IllegalArgumentException(what + ": file handle of " + Integer.toUnsignedString(fh.getBytes())
                        + " bytes in " + fh.getHandleCount() + " words");
            }
            ByteBuffer words = ByteBuffer.allocate(fh.getHandleCount() * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long w : fh.getHandleList()) {
                words.putLong(w);
            }
            byte[] handle = new byte[fh.getBytes()];
            words.flip().get(handle);
            watches.add(new InotifyWatch(wd.getWd(), fh.getPath(), wd.getMask(), wd.getIgnoredMask(), wd.getIIno(),
                    wd.getSDev(), fh.getType(), HexFormat.of().formatHex(handle)));
        }
        watches.sort((a, b) -> Integer.compareUnsigned(a.wd(), b.wd()));
        return new Inotify(e.getId(), e.getIfy().getFlags(), watches);
    }
}
