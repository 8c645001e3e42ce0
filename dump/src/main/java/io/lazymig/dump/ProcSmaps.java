package io.lazymig.dump;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Parses /proc/PID/smaps into {@link MapsEntry} records, in address order; or /proc/PID/maps, the
 * same lines without VmFlags, for what needs no flags: smaps walks every page table of the process
 * to count its Rss and Pss (about 20 ms a GiB here), maps does not.
 */
public final class ProcSmaps {
    private ProcSmaps() {
    }

    public static List<MapsEntry> read(int pid) throws IOException {
        return parse(ProcText.lines(Path.of("/proc", Integer.toString(pid), "smaps")));
    }

    /** The mappings of /proc/PID/maps: the entries of {@link #read}, with no VmFlags. */
    public static List<MapsEntry> readMaps(int pid) throws IOException {
        return parse(ProcText.lines(Path.of("/proc", Integer.toString(pid), "maps")));
    }

    static List<MapsEntry> parse(List<String> lines) throws IOException {
        List<MapsEntry> out = new ArrayList<>();
        Header pending = null;
        for (String line : lines) {
            if (isHeader(line)) {
                if (pending != null) {
                    out.add(pending.toEntry(Set.of()));
                }
                pending = Header.parse(line);
            } else if (line.startsWith("VmFlags:") && pending != null) {
                Set<String> flags = new HashSet<>(List.of(line.substring("VmFlags:".length()).trim().split("\\s+")));
                out.add(pending.toEntry(flags));
                pending = null;
            }
        }
        if (pending != null) {
            out.add(pending.toEntry(Set.of()));
        }
        return out;
    }

    /** A mapping line starts with "start-end " in hex; the detail lines start with "Name:". */
    private static boolean isHeader(String line) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        return dash > 0 && space > dash && line.chars().limit(dash).allMatch(c -> Character.digit(c, 16) >= 0);
    }

    private record Header(long start, long end, String perms, long offset, long inode, String path) {
        static Header parse(String line) throws IOException {
            // start-end perms offset dev inode [path]; the path may contain spaces.
            String[] f = line.trim().split("\\s+", 6);
            if (f.length < 5 || f[1].length() != 4) {
                throw new IOException("unparsable maps line: " + line);
            }
            String[] range = f[0].split("-");
            String path = f.length == 6 ? f[5] : null;
            return new Header(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16), f[1],
                    Long.parseUnsignedLong(f[2], 16), Long.parseLong(f[4]), path);
        }

        MapsEntry toEntry(Set<String> vmFlags) {
            return new MapsEntry(start, end, perms.charAt(0) == 'r', perms.charAt(1) == 'w', perms.charAt(2) == 'x',
                    perms.charAt(3) == 's', offset, inode, path, Set.copyOf(vmFlags));
        }
    }
}
