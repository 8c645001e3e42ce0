package io.lazymig.dump;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a dump's frozen time went, step by step, from the freeze (PTRACE_SEIZE) to the moment
 * the checkpoint is written (dump) or ready to serve (dump --lazy-pages). The steps are in the
 * order they ran; their sum is {@link #totalNanos()} (nothing between them is left out).
 */
public record FrozenSteps(List<Step> steps, long totalNanos) {
    /** Names of the steps, as they appear in {@link #summary()}. */
    public static final String FREEZE = "freeze";
    public static final String PREFLIGHT = "preflight";
    public static final String REGS = "regs";
    public static final String INJECT = "inject";
    public static final String MAPS = "maps";
    public static final String PROC = "proc";
    public static final String FILES = "files";
    /** A tree's pages shared copy-on-write found ({@link CowShares}; only for a tree). */
    public static final String COW = "cow";
    public static final String PAGEMAP = "pagemap";
    public static final String READ = "read";
    public static final String WRITE = "write";
    public static final String IMAGES = "images";

    /** One step: its name and how long it took. */
    public record Step(String name, long nanos) {
    }

    public FrozenSteps {
        steps = List.copyOf(steps);
    }

    /** The time of step {@code name}, 0 when it did not run. */
    public long nanos(String name) {
        return steps.stream().filter(s -> s.name().equals(name)).mapToLong(Step::nanos).sum();
    }

    /** One line: "frozen 41.2 ms: freeze 0.1, regs 0.3, ..., images 4.0" (milliseconds). */
    public String summary() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "frozen %.1f ms:", totalNanos / 1e6));
        for (int i = 0; i < steps.size(); i++) {
            b.append(i == 0 ? " " : ", ").append(steps.get(i).name())
                    .append(String.format(Locale.ROOT, " %.1f", steps.get(i).nanos() / 1e6));
        }
        return b.toString();
    }

    /** Takes the laps on the dumping thread: each {@link #lap} closes the step that ran since the last. */
    static final class Clock {
        private final long start;
        private long last;
        private final List<Step> steps = new ArrayList<>();

        Clock(long start) {
            this.start = start;
            this.last = start;
        }

        /** Ends step {@code name} now. */
        void lap(String name) {
            long now = System.nanoTime();
            add(new Step(name, now - last));
            last = now;
            PausePoint.after(name);
        }

        /** A step that ran before (for another process of a tree) grows by this one. */
        private void add(Step s) {
            for (int i = 0; i < steps.size(); i++) {
                if (steps.get(i).name().equals(s.name())) {
                    steps.set(i, new Step(s.name(), steps.get(i).nanos() + s.nanos()));
                    return;
                }
            }
            steps.add(s);
        }

        /** Splits the step that ends now into parts measured inside it (the rest is {@code name}). */
        void lap(String name, Step... parts) {
            long now = System.nanoTime();
            long rest = now - last;
            for (Step p : parts) {
                rest -= p.nanos();
            }
            add(new Step(name, rest));
            for (Step p : parts) {
                add(p);
            }
            last = now;
            PausePoint.after(name);
        }

        FrozenSteps stop() {
            return new FrozenSteps(steps, last - start);
        }
    }
}
