package io.lazymig.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ThreadStepTest {
    @Test
    void groupsKeepTheOrderAndCutTheLastShort() {
        List<Integer> tids = IntStream.rangeClosed(1, 7).boxed().toList();
        assertEquals(List.of(List.of(1, 2, 3), List.of(4, 5, 6), List.of(7)), ThreadStep.groups(tids, 3));
        assertEquals(List.of(tids), ThreadStep.groups(tids, 7));
        assertEquals(List.of(tids), ThreadStep.groups(tids, ThreadStep.GROUP));
        assertEquals(List.of(), ThreadStep.groups(List.of(), 3));
    }

    @Test
    void aGroupOfEveryKindFitsTheScratchArea() {
        // per thread: a stack_t (24 bytes), a name of at most 15 bytes + NUL, each 8-aligned, and four records
        assertEquals(true, SyscallRun.CODE_SPACE + ThreadStep.GROUP * (24 + 16 + 4L * SyscallRun.RECORD)
                <= Stub.SCRATCH_SIZE, "a group's arguments and records fit");
    }

    @Test
    void aGroupSizeBelowOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> ThreadStep.groups(List.of(1), 0));
    }
}
