package io.lazymig.images;

/** The thread's robust futex list (get_robust_list): head address and length; 0/0 when none. */
public record RobustList(long head, int length) {
    public static final RobustList NONE = new RobustList(0, 0);
}
