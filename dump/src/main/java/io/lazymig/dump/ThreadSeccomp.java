package io.lazymig.dump;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;

/**
 * The seccomp refusal of one thread, from its /proc/PID/task/TID/status read into one buffer reused
 * thread to thread ({@link ProcFileBuffer}: an instance belongs to one thread) and searched for the
 * one "Seccomp:" field.
 * Preflight asks it of every thread twice, once inside the freeze: parsing the ~60 lines into a map
 * (ProcStatus) cost 70-140 us a thread there, 7-14 ms for 100 threads.
 */
final class ThreadSeccomp {
    private static final String FIELD = "\nSeccomp:";
    private final ProcFileBuffer file = new ProcFileBuffer();

    /**
     * The refusal of the first thread of {@code tids} (in their order) that has one, or null. On one
     * thread: read on two (half on a helper) it was no faster, 100 threads in ~3 ms either way.
     */
    static String firstRefusal(int pid, java.util.List<Integer> tids) throws IOException {
        return new ThreadSeccomp().firstIn(pid, tids);
    }

    private String firstIn(int pid, java.util.List<Integer> tids) throws IOException {
        for (int tid : tids) {
            String refusal = refusal(pid, tid);
            if (refusal != null) {
                return refusal;
            }
        }
        return null;
    }

    /**
     * What makes the thread impossible to restore, or null: a seccomp mode (strict, or a filter, whose
     * BPF programs lazymig neither reads nor installs). "thread TID (NAME) has ...".
     */
    String refusal(int pid, int tid) throws IOException {
        String task = "/proc/" + pid + "/task/" + tid;
        String text;
        try {
            text = file.read(task + "/status").latin1();
        } catch (FileNotFoundException e) {
            if (!new File(task).exists()) {
                return null; // exited meanwhile: nothing of it is dumped
            }
            throw e;
        }
        // Latin-1: a byte a char, a plain copy; the name, any bytes, is decoded as UTF-8 only for a refusal
        int at = text.indexOf(FIELD);
        if (at < 0) {
            return null; // a kernel without seccomp
        }
        int start = at + FIELD.length();
        int end = text.indexOf('\n', start);
        String mode = text.substring(start, end < 0 ? text.length() : end).trim();
        if (mode.equals("0")) {
            return null;
        }
        String name = name(text);
        String kind = mode.equals("1") ? "strict" : mode.equals("2") ? "filter" : "mode " + mode;
        return "thread " + tid + (name == null ? "" : " (" + name + ")") + " has seccomp " + kind + " (Seccomp: " + mode
                + "): seccomp is not supported yet";
    }

    /** The "Name:" line's value (the first line), as UTF-8 like ProcText, or null. */
    private String name(String text) {
        if (!text.startsWith("Name:")) {
            return null;
        }
        int end = text.indexOf('\n');
        return file.utf8(5, end < 0 ? text.length() : end).trim();
    }
}
