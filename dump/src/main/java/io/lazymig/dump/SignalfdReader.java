package io.lazymig.dump;

import io.lazymig.images.Signalfd;
import java.io.IOException;

/** A signalfd from its fdinfo: "sigmask: HEX" (bit signo-1 per signal). */
final class SignalfdReader {
    private SignalfdReader() {
    }

    static Signalfd read(int id, int flags, FdInfoLines info) throws IOException {
        return new Signalfd(id, flags, info.hex(info.value("sigmask")));
    }
}
