package io.lazymig.restore;

import io.lazymig.jni.Errno;
import io.lazymig.jni.Syscalls;
import io.lazymig.jni.SystemInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A model of the kernel's POSIX timers and interval timers for the syscalls timer restore injects
 * (prctl PR_TIMER_CREATE_RESTORE_IDS, timer_create, timer_delete, timer_settime, setitimer), with
 * the kernel's rules: ids counted up from 0 per process and never handed out twice in a row
 * (6.18's counter); under the prctl (when this kernel has it) the id is read from *timerid, EBUSY
 * when taken. Memory is what put() stored. Any other syscall fails the test.
 */
final class FakeTimerKernel implements Injector {
    /** A timer as timer_create made it: clock, sigevent fields, and what timer_settime armed. */
    record Timer(int clock, long value, int signo, int sigevNotify, int tid, long[] armed) {
    }

    final boolean hasRestoreIds;
    final TreeMap<Integer, Timer> timers = new TreeMap<>();
    /** setitimer calls: which → {interval sec, usec, value sec, usec}. */
    final Map<Integer, long[]> itimers = new HashMap<>();
    final List<String> calls = new ArrayList<>();
    private final Map<Long, ByteBuffer> memory = new HashMap<>();
    private long nextAddress = 0x10000;
    private int nextId;
    private boolean restoreIds;

    FakeTimerKernel(boolean hasRestoreIds) {
        this.hasRestoreIds = hasRestoreIds;
    }

    boolean restoreIdsOn() {
        return restoreIds;
    }

    @Override
    public int pid() {
        return 4242;
    }

    @Override
    public long call(String name, int nr, long... args) throws RestoreException {
        long rc = raw(nr, args);
        if (Syscalls.isError(rc)) {
            throw new RestoreException("injected " + name + " failed: errno " + Syscalls.errno(rc));
        }
        return rc;
    }

    @Override
    public long raw(int nr, long... args) {
        if (nr == Syscalls.PRCTL && args[0] == SystemInfo.PR_TIMER_CREATE_RESTORE_IDS) {
            calls.add("prctl " + args[1]);
            if (!hasRestoreIds) {
                return -Errno.EINVAL;
            }
            restoreIds = args[1] == SystemInfo.PR_TIMER_CREATE_RESTORE_IDS_ON;
            return 0;
        }
        if (nr == Syscalls.TIMER_CREATE) {
            ByteBuffer ev = memory.get(args[1]);
            ByteBuffer id = memory.get(args[2]);
            int want;
            if (restoreIds) {
                want = id.getInt(0);
                if (timers.containsKey(want)) {
                    return -Errno.EBUSY;
                }
            } else {
                want = nextId++;
            }
            calls.add("timer_create " + want);
            timers.put(want, new Timer((int) args[0], ev.getLong(0), ev.getInt(8), ev.getInt(12), ev.getInt(16), null));
            id.putInt(0, want);
            return 0;
        }
        if (nr == Syscalls.TIMER_DELETE) {
            calls.add("timer_delete " + args[0]);
            return timers.remove((int) args[0]) == null ? -Errno.EINVAL : 0;
        }
        if (nr == Syscalls.TIMER_SETTIME) {
            Timer t = timers.get((int) args[0]);
            if (t == null || args[1] != 0 || args[3] != 0) {
                return -Errno.EINVAL;
            }
            calls.add("timer_settime " + args[0]);
            timers.put((int) args[0], new Timer(t.clock(), t.value(), t.signo(), t.sigevNotify(), t.tid(), longs(args[2])));
            return 0;
        }
        if (nr == Syscalls.SETITIMER) {
            calls.add("setitimer " + args[0]);
            itimers.put((int) args[0], longs(args[1]));
            return 0;
        }
        throw new AssertionError("unexpected syscall " + nr);
    }

    private long[] longs(long at) {
        ByteBuffer b = memory.get(at);
        return new long[] {b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24)};
    }

    @Override
    public void resetScratch() {
        // every put has its own address here
    }

    @Override
    public long putString(String s) {
        throw new AssertionError("timer restore puts no strings");
    }

    @Override
    public long put(ByteBuffer buf) {
        ByteBuffer copy = ByteBuffer.allocate(buf.remaining()).order(ByteOrder.nativeOrder());
        copy.put(buf.duplicate()).flip();
        long at = nextAddress;
        nextAddress += 0x100;
        memory.put(at, copy);
        return at;
    }

    @Override
    public void read(long address, ByteBuffer dst) {
        ByteBuffer src = memory.get(address).duplicate();
        src.limit(dst.remaining());
        dst.put(src);
        dst.flip();
    }

    /** Makes the next timer_create without the prctl hand out {@code id}, as after other timers. */
    void skipTo(int id) {
        nextId = id;
    }
}
