package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CRIU's own decoder, crit (Debian package criu), must decode every image we write and see the
 * fields we meant. crit needs no root. If it is missing the test fails: install it, never skip.
 */
@Timeout(120)
class CritCompatTest {
    private static final Pattern SPACES = Pattern.compile("\\s+");

    @TempDir
    Path dir;

    @BeforeEach
    void writeSample() throws IOException {
        Samples.writeSample(dir);
    }

    /** crit's --pretty output with all whitespace squeezed to single spaces. */
    private String decode(String image) throws Exception {
        return SPACES.matcher(Crit.run(dir, "decode", "-i", dir.resolve(image).toString(), "--pretty")).replaceAll(" ");
    }


    @Test
    void inventory() throws Exception {
        String json = decode("inventory.img");
        assertThat(json, containsString("\"magic\": \"INVENTORY\""));
        assertThat(json, containsString("\"img_version\": 2"));
        assertThat(json, containsString("\"fdinfo_per_id\": true"));
        assertThat(json, containsString("\"lsmtype\": \"NO_LSM\""));
    }

    @Test
    void pstree() throws Exception {
        String json = decode("pstree.img");
        assertThat(json, containsString("\"magic\": \"PSTREE\""));
        assertThat(json, containsString("{ \"pid\": 4242, \"ppid\": 0, \"pgid\": 4242, \"sid\": 4242, \"threads\": [ 4242 ] }"));
    }

    @Test
    void core() throws Exception {
        String json = decode("core-4242.img");
        assertThat(json, containsString("\"magic\": \"CORE\""));
        assertThat(json, containsString("\"mtype\": \"X86_64\""));
        assertThat(json, containsString("\"ip\": \"0x555555555123\""));
        assertThat(json, containsString("\"sp\": \"0x7fffffffe0a8\""));
        assertThat(json, containsString("\"orig_ax\": \"0xe6\""));
        assertThat(json, containsString("\"mode\": \"NATIVE\""));
        assertThat(json, containsString("\"xstate_bv\": 231"));
        assertThat(json, containsString("\"comm\": \"sample\""));
        assertThat(json, containsString("\"task_state\": \"Alive\""));
        assertThat(json, containsString("\"blk_sigset\": \"0x800\""));
        assertThat(json, containsString("\"sigaction\": \"0x555555555200\""));
        assertThat(json, containsString("\"futex_rla_len\": 24"));
        assertThat(json, containsString("\"rseq_abi_size\": 32"));
        assertThat(json, containsString("\"clear_tid_addr\": \"0x7ffff7d7ea10\""));
        assertThat(json, containsString("\"uid\": 1000, \"gid\": 1000, \"euid\": 1000"));
        assertThat(json, containsString("\"cap_bnd\": [ 4294967295, 511 ]"));
        assertThat(json, containsString("\"groups\": [ 24, 27, 1000 ]"));
        assertThat(json, containsString("\"sched_nice\": 5, \"sched_policy\": 0, \"blk_sigset\""));
        assertThat(json, containsString("\"sas\": { \"ss_sp\": 140737347846144, \"ss_size\": 65536, \"ss_flags\": 2147483648 }"));
        // raw siginfo_t, base64: SIGUSR2 (12), errno 0, SI_TKILL (-6), pid 999, uid 1000
        assertThat(json, containsString("\"signals_p\": { \"signals\": [ { \"siginfo\": \"DAAAAAAAAAD6////AAAAAOcDAADoAwAA"));
        // SIGTERM from kill (SI_USER), then signal 40 from sigqueue (SI_QUEUE) with value 42
        assertThat(json, containsString("\"signals_s\": { \"signals\": [ { \"siginfo\": \"DwAAAAAAAAAAAAAAAAAAAAEAAAAA"));
        assertThat(json, containsString("{ \"siginfo\": \"KAAAAAAAAAD/////AAAAAAEAAAAAAAAAKgAAAA"));
        assertThat(json, containsString("\"real\": { \"isec\": 0, \"iusec\": 250000, \"vsec\": 0, \"vusec\": 123456 }"));
        assertThat(json, containsString("\"prof\": { \"isec\": 0, \"iusec\": 0, \"vsec\": 2, \"vusec\": 5 }"));
        assertThat(json, containsString("{ \"it_id\": 0, \"clock_id\": 1, \"si_signo\": 10, \"it_sigev_notify\": 0,"
                + " \"sival_ptr\": 93824992252576, \"overrun\": 0, \"isec\": 0, \"insec\": 100000000, \"vsec\": 0,"
                + " \"vnsec\": 42000000 }"));
        assertThat(json, containsString("\"it_id\": 3, \"clock_id\": 0, \"si_signo\": 36, \"it_sigev_notify\": 4,"));
        assertThat(json, containsString("\"notify_thread_id\": 4242 }"));
        assertThat(json, containsString("{ \"it_id\": 7, \"clock_id\": 7, \"si_signo\": 12, \"it_sigev_notify\": 1,"));
    }

    @Test
    void ids() throws Exception {
        String json = decode("ids-4242.img");
        assertThat(json, containsString("\"magic\": \"IDS\""));
        assertThat(json, containsString("\"files_id\": 2"));
    }

    @Test
    void mm() throws Exception {
        String json = decode("mm-4242.img");
        assertThat(json, containsString("\"magic\": \"MM\""));
        assertThat(json, containsString("\"mm_start_brk\": \"0x555555559000\""));
        assertThat(json, containsString("\"exe_file_id\": 4"));
        assertThat(json, containsString("\"start\": \"0x7ffff7fc6000\", \"end\": \"0x7ffff7fc8000\", \"pgoff\": 0, \"shmid\": 0, "
                + "\"prot\": \"PROT_READ | PROT_EXEC\", \"flags\": \"MAP_PRIVATE | MAP_ANON\", "
                + "\"status\": \"VMA_AREA_REGULAR | VMA_AREA_VDSO | VMA_ANON_PRIVATE\", \"fd\": -1"));
        assertThat(json, containsString("\"status\": \"VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VVAR\""));
        assertThat(json, containsString("\"status\": \"VMA_AREA_REGULAR | VMA_AREA_HEAP | VMA_ANON_PRIVATE\""));
        assertThat(json, containsString("\"status\": \"VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE\""));
        assertThat(json, containsString("\"flags\": \"MAP_PRIVATE | MAP_ANON | MAP_GROWSDOWN\""));
        assertThat(json, containsString("\"pgoff\": 8192, \"shmid\": 4, \"prot\": \"PROT_READ | PROT_WRITE\", "
                + "\"flags\": \"MAP_PRIVATE\", \"status\": \"VMA_AREA_REGULAR | VMA_FILE_PRIVATE\""));
        assertThat(json, containsString("\"flags\": \"MAP_SHARED\", \"status\": \"VMA_AREA_REGULAR | VMA_FILE_SHARED\""));
    }

    @Test
    void pagemap() throws Exception {
        String json = decode("pagemap-4242.img");
        assertThat(json, containsString("\"magic\": \"PAGEMAP\""));
        assertThat(json, containsString("{ \"pages_id\": 1 }"));
        // crit 3.17 knows only field 2 (it calls it nr_pages) and ignores our field 5.
        assertThat(json, containsString("{ \"vaddr\": \"0x555555559000\", \"nr_pages\": 4, \"flags\": \"PE_LAZY | PE_PRESENT\" }"));
        assertThat(json, containsString("{ \"vaddr\": \"0x7ffff7d00000\", \"nr_pages\": 16, \"flags\": \"PE_LAZY\" }"));
        assertThat(json, containsString("{ \"vaddr\": \"0x7fffffffe000\", \"nr_pages\": 1, \"flags\": \"PE_PRESENT\" }"));
    }

    @Test
    void filesAndFdinfo() throws Exception {
        String files = decode("files.img");
        assertThat(files, containsString("\"magic\": \"FILES\""));
        assertThat(files, containsString("\"name\": \"/dev/null\", \"mode\": 8630"));
        assertThat(files, containsString("\"flags\": \"O_WRONLY | O_APPEND | O_LARGEFILE\", \"pos\": 1234"));
        String fdinfo = decode("fdinfo-2.img");
        assertThat(fdinfo, containsString("\"magic\": \"FDINFO\""));
        assertThat(fdinfo, containsString("\"flags\": 1, \"type\": \"REG\", \"fd\": 3"));
    }

    @Test
    void fs() throws Exception {
        String json = decode("fs-4242.img");
        assertThat(json, containsString("\"magic\": \"FS\""));
        assertThat(json, containsString("\"umask\": 23"));
    }

    @Test
    void pagesImageIsRawSoCritRefusesIt() throws Exception {
        Crit.Result run = Crit.exec(dir, "decode", "-i", dir.resolve("pages-1.img").toString());
        assertThat(run.output(), containsString("Unknown magic"));
        assertEquals(Files.size(dir.resolve("pages-1.img")), 13L * 4096);
    }

    @Test
    void exploreTheDirectory() throws Exception {
        String ps = Crit.run(dir, "x", dir.toString(), "ps");
        assertThat(ps, containsString("4242"));
        assertThat(ps, containsString("sample"));
        String mems = Crit.run(dir, "x", dir.toString(), "mems");
        assertThat(mems, containsString("exe                                     /usr/bin/sample"));
        assertThat(mems, containsString("7ffff7fc6000-7ffff7fc8000           r-x [vdso]"));
        assertThat(mems, containsString("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        String fds = Crit.run(dir, "x", dir.toString(), "fds");
        assertThat(fds, containsString("3: /tmp/sample.log"));
        assertThat(fds, containsString("cwd: /tmp"));
    }
}
