package io.lazymig.dump;

import io.lazymig.images.Inotify;
import io.lazymig.images.InotifyWatch;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * An inotify instance from its fdinfo: one "inotify wd:N ino:HEX sdev:HEX mask:HEX ignored_mask:HEX
 * fhandle-bytes:HEX fhandle-type:HEX f_handle:HEX" line per watch; the path of each watched file is
 * found from its handle ({@link WatchPaths}), as restore watches the path again.
 */
final class InotifyReader {
    /** The path of the file a watch is on, from its device and file handle. */
    interface WatchPaths {
        String path(long dev, int handleType, byte[] handle) throws IOException;
    }

    private InotifyReader() {
    }

    static Inotify read(int id, int flags, FdInfoLines info, WatchPaths paths) throws IOException {
        List<InotifyWatch> watches = new ArrayList<>();
        for (String line : info.lines("inotify ")) {
            int wd = (int) info.decimal(info.field(line, "wd"));
            long ino = info.hex(info.field(line, "ino"));
            long dev = info.hex(info.field(line, "sdev"));
            int mask = (int) info.hex(info.field(line, "mask"));
            int ignored = (int) info.hex(info.field(line, "ignored_mask"));
            int bytes = (int) info.hex(info.field(line, "fhandle-bytes"));
            int type = (int) info.hex(info.field(line, "fhandle-type"));
            String hex = info.field(line, "f_handle");
            byte[] handle;
            try {
                handle = HexFormat.of().parseHex(hex);
            } catch (IllegalArgumentException e) {
                throw info.error("f_handle \"" + hex + "\" is not hex");
            }
            if (handle.length != bytes) {
                throw info.error("f_handle of " + handle.length + " bytes, fhandle-bytes says " + bytes);
            }
            String path = paths.path(dev, type, handle);
            watches.add(new InotifyWatch(wd, path, mask, ignored, ino, (int) dev, type, hex));
        }
        watches.sort((a, b) -> Integer.compare(a.wd(), b.wd()));
        return new Inotify(id, flags, watches);
    }
}
