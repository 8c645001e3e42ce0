package io.lazymig.dump;

import io.lazymig.images.Epoll;
import io.lazymig.images.EpollWatch;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An epoll instance from its fdinfo: one "tfd: FD events: HEX data: HEX pos:N ino:HEX sdev:HEX"
 * line per watched fd. That the watched fds are in the table (and of kinds lazymig restores) is
 * checked once the whole table is read ({@link FdTableReader}) and before the freeze ({@link Preflight}).
 */
final class EpollReader {
    private EpollReader() {
    }

    static Epoll read(int id, int flags, FdInfoLines info) throws IOException {
        return new Epoll(id, flags, watches(info));
    }

    static List<EpollWatch> watches(FdInfoLines info) throws IOException {
        List<EpollWatch> watches = new ArrayList<>();
        for (String line : info.lines("tfd:")) {
            int fd = (int) info.decimal(info.field(line, "tfd"));
            int events = (int) info.hex(info.field(line, "events"));
            long data = info.hex(info.field(line, "data"));
            watches.add(new EpollWatch(fd, events, data));
        }
        watches.sort((a, b) -> Integer.compare(a.fd(), b.fd()));
        return watches;
    }
}
