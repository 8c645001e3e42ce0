package io.lazymig.images;

/** One resource limit; {@link #INFINITY} is RLIM_INFINITY. The list index is the resource number. */
public record Rlimit(long cur, long max) {
    public static final long INFINITY = -1L;
}
