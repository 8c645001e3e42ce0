package io.lazymig.images;

import java.util.List;

/**
 * The thread's credentials, as /proc/PID/status shows them: real, effective, saved and filesystem
 * uid/gid, the five capability sets (64-bit masks), securebits, supplementary groups and
 * no_new_privs. CRIU's restore needs them in every image; lazymig's restore uses them to drop the
 * restored process to its original identity.
 */
public record Creds(int uid, int gid, int euid, int egid, int suid, int sgid, int fsuid, int fsgid, long capInh,
        long capPrm, long capEff, long capBnd, long capAmb, int secbits, List<Integer> groups, boolean noNewPrivs) {
    /** Every capability up to CAP_CHECKPOINT_RESTORE (40). */
    public static final long ALL_CAPS = (1L << 41) - 1;
    /** Bound on supplementary groups (NGROUPS_MAX). */
    public static final int MAX_GROUPS = 65536;
    /** root with every capability: the default when a dump did not record credentials. */
    public static final Creds ROOT = new Creds(0, 0, 0, 0, 0, 0, 0, 0, 0, ALL_CAPS, ALL_CAPS, ALL_CAPS, 0, 0, List.of(), false);

    public Creds {
        groups = List.copyOf(groups);
        if (groups.size() > MAX_GROUPS) {
            throw new IllegalArgumentException(groups.size() + " supplementary groups, at most " + MAX_GROUPS);
        }
    }
}
