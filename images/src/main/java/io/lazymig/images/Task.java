package io.lazymig.images;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Per-process state of a single-threaded process: identity (pid, pgid, sid, comm), where it
 * runs (exe, cwd, root, umask), personality, signal state (blocked mask, actions), rseq, robust
 * list, clear_child_tid, credentials, resource limits and the mm fields. Build one with
 * {@link #builder()}.
 *
 * <p>{@code sigactions} keeps only non-default actions, sorted by signal; {@code rlimits} is indexed
 * by resource number (at most {@value #MAX_RLIMITS}). There is no ppid: the dumped process is the
 * root of its image tree, whose ppid CRIU writes as 0 (crit's {@code x ps} depends on that).
 */
public record Task(int pid, int pgid, int sid, String comm, String exePath, String cwd, String root,
        int umask, int personality, long sigmask, List<Rlimit> rlimits, List<SigAction> sigactions, Rseq rseq,
        RobustList robustList, long clearTidAddress, Creds creds, MmInfo mm) {
    /** RLIM_NLIMITS on Linux. */
    public static final int MAX_RLIMITS = 16;
    /** TASK_COMM_LEN. */
    public static final int MAX_COMM_BYTES = 16;

    public Task {
        if (pid <= 0 || pgid < 0 || sid < 0) {
            throw new IllegalArgumentException("bad ids: pid " + pid + " pgid " + pgid + " sid " + sid);
        }
        Objects.requireNonNull(comm, "comm");
        if (comm.getBytes(StandardCharsets.UTF_8).length > MAX_COMM_BYTES) {
            throw new IllegalArgumentException("comm \"" + comm + "\" longer than " + MAX_COMM_BYTES + " bytes");
        }
        OpenFile.checkPath(exePath);
        OpenFile.checkPath(cwd);
        OpenFile.checkPath(root);
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
        Objects.requireNonNull(rseq, "rseq");
        Objects.requireNonNull(robustList, "robustList");
        Objects.requireNonNull(creds, "creds");
        Objects.requireNonNull(mm, "mm");
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
        private int pgid;
        private int sid;
        private String comm;
        private String exePath;
        private String cwd = "/";
        private String root = "/";
        private int umask = 022;
        private int personality;
        private long sigmask;
        private List<Rlimit> rlimits = List.of();
        private List<SigAction> sigactions = List.of();
        private Rseq rseq = Rseq.NONE;
        private RobustList robustList = RobustList.NONE;
        private long clearTidAddress;
        private Creds creds = Creds.ROOT;
        private MmInfo mm;

        private Builder() {
        }

        public Builder pid(int v) {
            pid = v;
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

        public Builder sigmask(long v) {
            sigmask = v;
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

        public Builder rseq(Rseq v) {
            rseq = v;
            return this;
        }

        public Builder robustList(RobustList v) {
            robustList = v;
            return this;
        }

        public Builder clearTidAddress(long v) {
            clearTidAddress = v;
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

        public Task build() {
            return new Task(pid, pgid, sid, comm, exePath, cwd, root, umask, personality, sigmask, rlimits,
                    sigactions, rseq, robustList, clearTidAddress, creds, mm);
        }
    }
}
