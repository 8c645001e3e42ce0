package io.lazymig.dump;

import io.lazymig.images.PosixTimer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * /proc/PID/timers: the POSIX timers of a process, four lines each ("ID: 3", "signal: 36/<sigev
 * value in hex>", "notify: signal/tid.1234" — signal, none or thread, then pid or tid and the
 * task —, "ClockID: 1"), newest first. What it does not show (interval, time left, overrun) is
 * asked of the process itself by timer_gettime.
 */
final class ProcTimers {
    /** One timer as /proc shows it; {@code notifyTid} is the thread for SIGEV_THREAD_ID, else 0. */
    record Entry(int id, int signo, long sigevValue, int sigevNotify, int notifyTid, int clockId) {
    }

    private ProcTimers() {
    }

    static List<Entry> read(int pid) throws IOException {
        return parse(ProcText.lines(Path.of("/proc", Integer.toString(pid), "timers")));
    }

    static List<Entry> parse(List<String> lines) throws IOException {
        List<Entry> out = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            if (lines.get(i).isBlank()) {
                i++;
                continue;
            }
            if (i + 4 > lines.size()) {
                throw new IOException("truncated /proc/PID/timers entry at line " + (i + 1) + ": " + lines.get(i));
            }
            int id = Integer.parseInt(field(lines.get(i), "ID"));
            String[] signal = field(lines.get(i + 1), "signal").split("/");
            String[] notify = field(lines.get(i + 2), "notify").split("[/.]");
            int clockId = Integer.parseInt(field(lines.get(i + 3), "ClockID"));
            if (signal.length != 2 || notify.length != 3) {
                throw new IOException("unparsable /proc/PID/timers entry for timer " + id);
            }
            int how = switch (notify[0]) {
                case "signal" -> PosixTimer.SIGEV_SIGNAL;
                case "none" -> PosixTimer.SIGEV_NONE;
                case "thread" -> PosixTimer.SIGEV_THREAD;
                default -> throw new IOException("timer " + id + ": unknown notify \"" + notify[0] + "\"");
            };
            boolean toThread = switch (notify[1]) {
                case "tid" -> true;
                case "pid" -> false;
                default -> throw new IOException("timer " + id + ": unknown notify target \"" + notify[1] + "\"");
            };
            out.add(new Entry(id, Integer.parseInt(signal[0]), Long.parseUnsignedLong(signal[1], 16),
                    toThread ? how | PosixTimer.SIGEV_THREAD_ID : how, toThread ? Integer.parseInt(notify[2]) : 0,
                    clockId));
            i += 4;
        }
        return out;
    }

    private static String field(String line, String name) throws IOException {
        if (!line.startsWith(name + ":")) {
            throw new IOException("expected \"" + name + ":\" in /proc/PID/timers, got: " + line);
        }
        return line.substring(name.length() + 1).trim();
    }
}
