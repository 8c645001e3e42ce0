package io.lazymig.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One line of /proc/PID/maps of the stub: what restore must move or unmap. */
record Mapping(long start, long end, String perms, String name) {

    long length() {
        return end - start;
    }

    boolean overlaps(long s, long e) {
        return Long.compareUnsigned(s, end) < 0 && Long.compareUnsigned(start, e) < 0;
    }

    static List<Mapping> of(int pid) throws IOException {
        List<Mapping> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "maps"))) {
            String[] f = line.trim().split("\\s+", 6);
            int dash = f[0].indexOf('-');
            out.add(new Mapping(Long.parseUnsignedLong(f[0].substring(0, dash), 16),
                    Long.parseUnsignedLong(f[0].substring(dash + 1), 16), f[1], f.length == 6 ? f[5] : ""));
        }
        return out;
    }
}
