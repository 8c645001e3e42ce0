package io.lazymig.restore;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Syscalls injected into the process being restored, and a scratch area in it for their
 * in-memory arguments. {@link Stub} is the real one (ptrace); the steps that only inject syscalls
 * take this, so a test can run them against a model of the kernel.
 */
interface Injector {
    /** The process the syscalls run in. */
    int pid();

    /** Injects a syscall; an error result is a RestoreException naming it. */
    long call(String name, int nr, long... args) throws IOException;

    /** Injects a syscall and returns its raw result (-errno on failure). */
    long raw(int nr, long... args) throws IOException;

    /** Starts filling the scratch area from its beginning again. */
    void resetScratch();

    /** Copies a NUL-terminated string into the scratch area; returns its address there. */
    long putString(String s) throws IOException;

    /** Copies the remaining bytes of {@code buf} (direct) into the scratch area, 8-aligned; returns its address. */
    long put(ByteBuffer buf) throws IOException;

    /** Reads {@code dst.remaining()} bytes of the process's memory at {@code address} into {@code dst}. */
    void read(long address, ByteBuffer dst) throws IOException;
}
