package io.lazymig.dump;

import io.lazymig.jni.FileDescriptor;
import io.lazymig.jni.FileHandles;
import io.lazymig.jni.NativeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The path of a file an inotify watch is on, found as CRIU finds it: the watch's file handle opened
 * (open_by_handle_at, O_PATH) on the filesystem of its device, which the process's mountinfo names
 * (the kernel prints the device as MAJOR &lt;&lt; 20 | MINOR), and the link of the fd read back.
 */
final class ProcWatchPaths implements InotifyReader.WatchPaths {
    private final int pid;
    private final String what;

    /** {@code what} names the inotify fd in errors ("process 42 fd 7 (inotify)"). */
    ProcWatchPaths(int pid, String what) {
        this.pid = pid;
        this.what = what;
    }

    @Override
    public String path(long dev, int handleType, byte[] handle) throws IOException {
        String device = (dev >>> 20) + ":" + (dev & 0xfffff);
        String mountPoint = mountPoint(ProcText.read(Path.of("/proc", Integer.toString(pid), "mountinfo")), device);
        if (mountPoint == null) {
            throw new DumpException(what + " watches a file on device " + device + ", which no mount of the process shows");
        }
        Path root = Path.of("/proc", Integer.toString(pid), "root");
        try (FileDescriptor mount = FileDescriptor.open(root + mountPoint, FileDescriptor.O_RDONLY, 0);
             FileDescriptor file = FileHandles.open(mount, handleType, handle, FileDescriptor.O_PATH)) {
            String path = Files.readSymbolicLink(Path.of("/proc/self/fd", Integer.toString(file.fd()))).toString();
            if (!path.startsWith("/") || path.endsWith(" (deleted)")) {
                throw new DumpException(what + " watches " + path + ", a file that is gone: only watches on existing "
                        + "files can be watched again on the destination");
            }
            return path;
        } catch (NativeException e) {
            throw new DumpException(what + " watches a file on device " + device + " (mounted at " + mountPoint
                    + ") that cannot be found from its handle: " + e.getMessage());
        }
    }

    /** The mount point (unescaped) of the first mount of {@code device} ("MAJOR:MINOR") in a mountinfo text. */
    static String mountPoint(String mountinfo, String device) {
        for (String line : mountinfo.split("\n")) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[2].equals(device)) {
                return unescape(f[4]);
            }
        }
        return null;
    }

    /** mountinfo writes space, tab, newline and backslash as \\ooo. */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
