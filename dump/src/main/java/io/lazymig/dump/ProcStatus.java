package io.lazymig.dump;

import java.io.IOException;
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
        return parse(ProcText.read(Path.of("/proc", Integer.toString(pid), "status")));
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

    /** The value of a line, or null when there is none. */
    public String getOrNull(String key) {
        return fields.get(key);
    }

    public int threads() throws IOException {
        return Integer.parseInt(get("Threads"));
    }

    public int umask() throws IOException {
        return Integer.parseInt(get("Umask"), 8);
    }

    /** The four ids of a "Uid:" or "Gid:" line: real, effective, saved, filesystem. */
    public int[] ids(String key) throws IOException {
        String[] f = get(key).split("\\s+");
        if (f.length != 4) {
            throw new IOException("/proc/PID/status " + key + " line has " + f.length + " fields");
        }
        int[] out = new int[4];
        for (int i = 0; i < 4; i++) {
            out[i] = Integer.parseUnsignedInt(f[i]);
        }
        return out;
    }

    /** The supplementary groups. */
    public java.util.List<Integer> groups() throws IOException {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (String g : get("Groups").split("\\s+")) {
            if (!g.isEmpty()) {
                out.add(Integer.parseUnsignedInt(g));
            }
        }
        return out;
    }

    /** A hex capability set line such as CapEff. */
    public long capabilities(String key) throws IOException {
        return Long.parseUnsignedLong(get(key), 16);
    }

    /** A hex signal bitmask line such as SigBlk, SigIgn, SigCgt. */
    public long sigmask(String key) throws IOException {
        return Long.parseUnsignedLong(get(key), 16);
    }
}
