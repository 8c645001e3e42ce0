package io.lazymig.jni;

/** A pid that just exited and was reaped: ESRCH for every call until it is reused. */
final class DeadPid {
    private DeadPid() {
    }

    static int get() throws Exception {
        Process p = new ProcessBuilder("/bin/true").start();
        p.waitFor();
        return (int) p.pid();
    }
}
