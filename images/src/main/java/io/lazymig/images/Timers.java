package io.lazymig.images;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * A process's timers (CRIU's task_timers_entry): its three interval timers and its POSIX timers,
 * sorted by id, ids unique. {@link #NONE} when it has none running.
 */
public record Timers(IntervalTimer real, IntervalTimer virt, IntervalTimer prof, List<PosixTimer> posix) {
    public static final Timers NONE = new Timers(IntervalTimer.DISARMED, IntervalTimer.DISARMED,
            IntervalTimer.DISARMED, List.of());

    public Timers {
        Objects.requireNonNull(real, "real");
        Objects.requireNonNull(virt, "virt");
        Objects.requireNonNull(prof, "prof");
        List<PosixTimer> sorted = new ArrayList<>(posix);
        sorted.sort(Comparator.comparingInt(PosixTimer::id));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).id() == sorted.get(i - 1).id()) {
                throw new IllegalArgumentException("POSIX timer " + sorted.get(i).id() + " listed twice");
            }
        }
        posix = List.copyOf(sorted);
    }
}
