package io.lazymig.dump;

import io.lazymig.images.Eventfd;
import java.io.IOException;

/**
 * An eventfd from its fdinfo: "eventfd-count: HEX" and, since Linux 6.5, "eventfd-semaphore: 0|1"
 * (on an older kernel the semaphore flag cannot be read, and a semaphore eventfd is refused nowhere:
 * it comes back counting, as with CRIU).
 */
final class EventfdReader {
    private EventfdReader() {
    }

    static Eventfd read(int id, int flags, FdInfoLines info) throws IOException {
        long counter = info.hex(info.value("eventfd-count"));
        String sem = info.valueOrNull("eventfd-semaphore");
        return new Eventfd(id, flags, counter, sem != null && sem.equals("1"));
    }
}
