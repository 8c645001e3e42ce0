package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The "Key:\tvalue" lines of /proc/PID/status (Umask, Threads, SigBlk, ...). */
public final class ProcStatus {
    private final Map<String, String> fields;

    private ProcStatus(Map<String, String> fields) {
        this.fields = fields;
    }

    public static ProcStatus read(int pid) throws IOException {
        return parse(Files.readString(Path.of("/proc", Integer.toString(pid), "status")));
    }

    static ProcStatus parse(String text) {
        Map<String, String> m = new HashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                m.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return new ProcStatus(m);
    }

    public String get(String key) throws IOException {
        String v = fields.get(key);
        if (v == null) {
            throw new IOException("/proc/PID/status has no " + key + " line");
        }
        return v;
    }

    public int threads() throws IOException {
        return Integer.parseInt(get("Threads"));
    }

    public int umask() throws IOException {
        return Integer.parseInt(get("Umask"), 8);
    }

    /** A hex signal bitmask line such as SigBlk, SigIgn, SigCgt. */
    public long sigmask(String key) throws IOException {
        return Long.parseUnsignedLong(get(key), 16);
    }
}
