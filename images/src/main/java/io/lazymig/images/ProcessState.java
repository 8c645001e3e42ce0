package io.lazymig.images;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The process-wide state of one process (what all its threads share): identity in the tree (pid,
 * ppid, pgid, sid), name (the leader's comm), where it runs (exe, cwd, root, umask), personality,
 * signal actions, credentials, resource limits, the mm fields, the timers and the signals pending
 * for the whole process (kill, sigqueue: the shared queue, in queue order). Per-thread state is in
 * {@link ThreadState}. Build one with {@link #builder()}.
 *
 * <p>{@code sigactions} keeps only non-default actions, sorted by signal; {@code rlimits} is indexed
 * by resource number (at most {@value #MAX_RLIMITS}). The root of an image tree has ppid 0, as CRIU
 * writes it (crit's {@code x ps} depends on that). Credentials are per thread in the kernel and in
 * CRIU's core image; the model keeps the leader's for the whole process.
 */
public record ProcessState(int pid, int ppid, int pgid, int sid, String comm, String exePath, String cwd, String root,
        int umask, int personality, List<Rlimit> rlimits, List<SigAction> sigactions, Creds creds, MmInfo mm,
        List<SigInfo> sharedPending, Timers timers) {
    /** RLIM_NLIMITS on Linux. */
    public static final int MAX_RLIMITS = 16;
    /** TASK_COMM_LEN. */
    public static final int MAX_COMM_BYTES = 16;

    public ProcessState {
        if (pid <= 0 || ppid < 0 || pgid < 0 || sid < 0) {
            throw new IllegalArgumentException("bad ids: pid " + pid + " ppid " + ppid + " pgid " + pgid + " sid " + sid);
        }
        Objects.requireNonNull(comm, "comm");
        if (comm.getBytes(StandardCharsets.UTF_8).length > MAX_COMM_BYTES) {
            throw new IllegalArgumentException("comm \"" + comm + "\" longer than " + MAX_COMM_BYTES + " bytes");
        }
        FilePaths.check(exePath);
        FilePaths.check(cwd);
        FilePaths.check(root);
        if ((umask & ~0777) != 0) {
            throw new IllegalArgumentException("umask 0" + Integer.toOctalString(umask) + " has bits outside 0777");
        }
        rlimits = List.copyOf(rlimits);
        if (rlimits.size() > MAX_RLIMITS) {
            throw new IllegalArgumentException(rlimits.size() + " rlimits, Linux has " + MAX_RLIMITS);
        }
        List<SigAction> actions = new ArrayList<>();
        for (SigAction a : sigactions) {
            if (!a.isDefault()) {
                actions.add(a);
            }
        }
        actions.sort(Comparator.comparingInt(SigAction::signo));
        for (int i = 1; i < actions.size(); i++) {
            if (actions.get(i).signo() == actions.get(i - 1).signo()) {
                throw new IllegalArgumentException("two actions for signal " + actions.get(i).signo());
            }
        }
        sigactions = List.copyOf(actions);
        Objects.requireNonNull(creds, "creds");
        Objects.requireNonNull(mm, "mm");
        sharedPending = List.copyOf(sharedPending);
        Objects.requireNonNull(timers, "timers");
    }

    /** The action for {@code signo}: the stored one, or the default. */
    public SigAction action(int signo) {
        for (SigAction a : sigactions) {
            if (a.signo() == signo) {
                return a;
            }
        }
        return new SigAction(signo, 0, 0, 0, 0);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Mutable builder; every field has a harmless default except pid, comm, exePath and mm. */
    public static final class Builder {
        private int pid;
        private int ppid;
        private int pgid;
        private int sid;
        private String comm;
        private String exePath;
        private String cwd = "/";
        private String root = "/";
        private int umask = 022;
        private int personality;
        private List<Rlimit> rlimits = List.of();
        private List<SigAction> sigactions = List.of();
        private Creds creds = Creds.ROOT;
        private MmInfo mm;
        private List<SigInfo> sharedPending = List.of();
        private Timers timers = Timers.NONE;

        private Builder() {
        }

        public Builder pid(int v) {
            pid = v;
            return this;
        }

        /** 0 (the default) for the root of the tree. */
        public Builder ppid(int v) {
            ppid = v;
            return this;
        }

        public Builder pgid(int v) {
            pgid = v;
            return this;
        }

        public Builder sid(int v) {
            sid = v;
            return this;
        }

        public Builder comm(String v) {
            comm = v;
            return this;
        }

        public Builder exePath(String v) {
            exePath = v;
            return this;
        }

        public Builder cwd(String v) {
            cwd = v;
            return this;
        }

        public Builder root(String v) {
            root = v;
            return this;
        }

        public Builder umask(int v) {
            umask = v;
            return this;
        }

        public Builder personality(int v) {
            personality = v;
            return this;
        }


        public Builder rlimits(List<Rlimit> v) {
            rlimits = v;
            return this;
        }

        public Builder sigactions(List<SigAction> v) {
            sigactions = v;
            return this;
        }




        /** Defaults to {@link Creds#ROOT}. */
        public Builder creds(Creds v) {
            creds = v;
            return this;
        }

        public Builder mm(MmInfo v) {
            mm = v;
            return this;
        }

        /** The process-wide pending signals, in queue order; none by default. */
        public Builder sharedPending(List<SigInfo> v) {
            sharedPending = v;
            return this;
        }

        /** Defaults to {@link Timers#NONE}. */
        public Builder timers(Timers v) {
            timers = v;
            return this;
        }

        public ProcessState build() {
            return new ProcessState(pid, ppid, pgid, sid, comm, exePath, cwd, root, umask, personality, rlimits,
                    sigactions, creds, mm, sharedPending, timers);
        }
    }
}
