package io.lazymig.jni;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
    void loadsFromTheBuiltTreeAndAgreesOnTheAbi() throws Exception {
        NativeLibrary.load();
        NativeLibrary.load(); // idempotent
        // The page size C reports is the kernel's, as /proc says for this JVM's stack.
        List<String> smaps = Files.readAllLines(Path.of("/proc/self/smaps"));
        int stack = smaps.indexOf(smaps.stream().filter(l -> l.endsWith("[stack]")).findFirst().orElseThrow());
        String kernelPageSize = smaps.subList(stack, smaps.size()).stream().filter(l -> l.startsWith("KernelPageSize:"))
                .findFirst().orElseThrow();
        assertEquals(kernelPageSize.replaceAll("\\D+", "") + " kB", SystemInfo.PAGE_SIZE / 1024 + " kB");
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
