package io.lazymig.dump;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.lazymig.images.MmInfo;
import io.lazymig.images.Registers;
import io.lazymig.images.RobustList;
import io.lazymig.images.Rseq;
import io.lazymig.images.Sched;
import io.lazymig.images.SigAltStack;
import io.lazymig.images.ThreadState;
import io.lazymig.images.UserRegs;
import io.lazymig.images.XsaveLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

class EagerPagesTest {
    private static final long PAGE = 4096;
    /** Index of sp in struct user_regs_struct. */
    private static final int SP = 19;

    private static ThreadState thread(int tid, long sp, Rseq rseq, long clearTid) {
        long[] v = new long[UserRegs.COUNT];
        v[SP] = sp;
        return new ThreadState(tid, new Registers(UserRegs.fromArray(v), new byte[512], XsaveLayout.LEGACY), 0, rseq,
                RobustList.NONE, clearTid, "t" + tid, SigAltStack.DISABLED, Sched.DEFAULT, List.of(), 0);
    }

    @Test
    void stackPointerPageOfEveryThreadRseqAreasAndTheClearTidWordsOfCreatedThreads() {
        ThreadState leader = thread(100, 0x7ffe0000_1234L, new Rseq(0x5000_0f00L, 32, 0x53053053, 0), 0x5000_0e00L);
        ThreadState second = thread(101, 0x7f00_2ff8L, new Rseq(0x7f00_3fe8L, 32, 0x53053053, 0), 0x7f00_6010L);
        long[] pages = EagerPages.of(List.of(leader, second), null, PAGE);
        assertArrayEquals(new long[] {
            0x5000_0000L, // the leader's rseq area; its clear_child_tid word (same page) is not written by restore
            0x7f00_2000L, // the second's stack pointer
            0x7f00_3000L, 0x7f00_4000L, // its rseq area crosses a page boundary
            0x7f00_6000L, // its clear_child_tid word
            0x7ffe0000_1000L, // the leader's stack pointer
        }, pages);
    }

    @Test
    void leaderClearTidAloneIsNotEagerAndSharedPagesCountOnce() {
        ThreadState leader = thread(100, 0x9000_0010L, Rseq.NONE, 0x8000_0000L);
        ThreadState second = thread(101, 0x9000_0ff0L, Rseq.NONE, 0x9000_0800L);
        assertArrayEquals(new long[] {0x9000_0000L}, EagerPages.of(List.of(leader, second), null, PAGE));
    }

    @Test
    void argumentsAndEnvironmentAreEagerAnEmptyOrAbsurdRangeIsNot() {
        ThreadState leader = thread(100, 0x7ffe_0000_0010L, Rseq.NONE, 0);
        MmInfo mm = new MmInfo(0, 0, 0, 0, 0, 0, 0, 0x7ffe_1000_0ff0L, 0x7ffe_1000_1010L, 0x7ffe_1000_1010L,
                0x7ffe_1000_1800L, new long[0]);
        assertArrayEquals(new long[] {0x7ffe_0000_0000L, 0x7ffe_1000_0000L, 0x7ffe_1000_1000L},
                EagerPages.of(List.of(leader), mm, PAGE));
        MmInfo rewritten = new MmInfo(0, 0, 0, 0, 0, 0, 0, 0x5000, 0x4000, 0, 0, new long[0]);
        assertArrayEquals(new long[] {0x7ffe_0000_0000L}, EagerPages.of(List.of(leader), rewritten, PAGE));
    }
}
