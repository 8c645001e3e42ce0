package io.lazymig.restore;

import io.lazymig.images.Creds;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The credentials of every thread; last of the injected state, as the uffd, PR_SET_MM_MAP and
 * clone3's set_tid before it need root's privileges.
 */
final class CredsStep implements RestoreStep {
    @Override
    public String name() {
        return "creds";
    }

    /**
     * The identity the process ran with: supplementary groups, then gids, then uids (dropping root
     * last); a non-root uid loses root's capabilities with it, as setresuid does. Root stays root.
     */
    @Override
    public void run(Restoring r) throws IOException {
        Creds c = r.process.state().creds();
        Stub stub = r.stub;
        if (c.uid() == 0 && c.euid() == 0 && c.suid() == 0 && c.fsuid() == 0 && c.gid() == 0 && c.egid() == 0
                && c.groups().isEmpty()) {
            return;
        }
        // The raw syscalls change the caller's credentials only (glibc's setxid broadcast is not
        // there): each created thread first, the leader last.
        for (Restoring.Created t : r.created) {
            set(t.stub(), c);
        }
        set(stub, c);
        // Changing ids makes a process non-dumpable; the dumped one was dumpable (ptrace saw it).
        stub.call("prctl(PR_SET_DUMPABLE)", Syscalls.PRCTL, SystemInfo.PR_SET_DUMPABLE, 1, 0, 0, 0);
    }

    private static void set(Stub stub, Creds c) throws IOException {
        stub.resetScratch();
        ByteBuffer groups = Stub.struct(Math.max(4, c.groups().size() * 4));
        c.groups().forEach(groups::putInt);
        groups.flip();
        long at = c.groups().isEmpty() ? 0 : stub.put(groups);
        stub.call("setgroups", Syscalls.SETGROUPS, c.groups().size(), at);
        stub.call("setresgid", Syscalls.SETRESGID, c.gid(), c.egid(), c.sgid());
        stub.call("setfsgid", Syscalls.SETFSGID, c.fsgid());
        stub.call("setresuid", Syscalls.SETRESUID, c.uid(), c.euid(), c.suid());
        stub.call("setfsuid", Syscalls.SETFSUID, c.fsuid());
    }
}
