package io.lazymig.jni;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads {@code liblazymig.so} once: first the path in the system property
 * {@value #PATH_PROPERTY}, then {@code java.library.path}. A failure is one
 * {@link UnsatisfiedLinkError} that lists everything tried. The library's ABI version
 * must equal {@link #ABI_VERSION}, so a stale library is refused instead of misbehaving.
 */
public final class NativeLibrary {
    /** Bumped whenever a native signature or constant table changes. Read by C via javac -h. */
    public static final int ABI_VERSION = 11;
    public static final String PATH_PROPERTY = "lazymig.library.path";
    public static final String NAME = "lazymig";

    private static volatile boolean loaded;

    private NativeLibrary() {
    }

    /** Loads the library if it is not loaded yet; idempotent and thread-safe. */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (NativeLibrary.class) {
            if (!loaded) {
                loadFrom(System.getProperty(PATH_PROPERTY), System.getProperty("java.library.path", ""));
                loaded = true;
            }
        }
    }

    static void loadFrom(String explicitPath, String libraryPath) {
        List<String> tried = new ArrayList<>();
        if (explicitPath != null && !explicitPath.isEmpty()) {
            Path p = Path.of(explicitPath).toAbsolutePath();
            if (Files.isRegularFile(p)) {
                try {
                    System.load(p.toString());
                    checkAbi(p.toString());
                    return;
                } catch (UnsatisfiedLinkError e) {
                    tried.add(p + " (" + e.getMessage() + ")");
                }
            } else {
                tried.add(p + " (no such file; from -D" + PATH_PROPERTY + ")");
            }
        } else {
            tried.add("-D" + PATH_PROPERTY + " (not set)");
        }
        try {
            System.loadLibrary(NAME);
            checkAbi("java.library.path");
            return;
        } catch (UnsatisfiedLinkError e) {
            tried.add(System.mapLibraryName(NAME) + " in java.library.path=" + libraryPath + " (" + e.getMessage() + ")");
        }
        throw new UnsatisfiedLinkError("cannot load the lazymig native library; tried: " + String.join("; ", tried)
                + ". Build it with 'make' or point -D" + PATH_PROPERTY + " at liblazymig.so");
    }

    private static void checkAbi(String where) {
        int nativeAbi = nativeAbiVersion();
        if (nativeAbi != ABI_VERSION) {
            throw new UnsatisfiedLinkError("liblazymig.so at " + where + " has ABI version " + nativeAbi
                    + " but this java-api needs " + ABI_VERSION + "; rebuild with 'make'");
        }
    }

    private static native int nativeAbiVersion();
}
