package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class NativeLibraryTest {
    @Test
    void missingLibraryListsEverythingTried() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibrary.loadFrom("/nonexistent/liblazymig.so", "/nonexistent-dir"));
        assertThat(e.getMessage(), containsString("/nonexistent/liblazymig.so (no such file"));
        assertThat(e.getMessage(), containsString("java.library.path=/nonexistent-dir"));
        assertThat(e.getMessage(), containsString("-Dlazymig.library.path"));
    }

    @Test
    void loadsFromTheBuiltTreeAndAgreesOnTheAbi() {
        NativeLibrary.load();
        NativeLibrary.load(); // idempotent
        assertEquals(4096, SystemInfo.PAGE_SIZE);
    }

    @Test
    void errnoNamesComeFromC() {
        assertEquals("EEXIST", Errno.name(Errno.EEXIST));
        NativeException e = new NativeException("UFFDIO_COPY", Errno.EINVAL);
        assertEquals("UFFDIO_COPY: EINVAL (Invalid argument)", e.getMessage());
        assertEquals(Errno.EINVAL, e.errno());
    }

    @Test
    void closedDescriptorIsAnErrorAndCloseIsIdempotent() throws Exception {
        FileDescriptor fd = FileDescriptor.open("/dev/null", FileDescriptor.O_RDONLY, 0);
        fd.close();
        fd.close();
        NativeException e = assertThrows(NativeException.class, fd::statusFlags);
        assertEquals(Errno.EBADF, e.errno());
        NativeException missing = assertThrows(NativeException.class,
                () -> FileDescriptor.open("/nonexistent/x", FileDescriptor.O_RDONLY, 0));
        assertThat(missing.getMessage(), containsString("open(/nonexistent/x): ENOENT"));
    }
}
