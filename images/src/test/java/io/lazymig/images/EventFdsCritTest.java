package io.lazymig.images;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * crit (Debian's criu package) decodes the event fds' files.img entries we write, with the fields at
 * CRIU's numbers: efd, tfd, sgfd, ify (with its file handle), epfd (with its tfds), and the char
 * devices as REG entries with their mode. Missing crit fails the test, as in {@link CritCompatTest}.
 */
@Timeout(120)
class EventFdsCritTest {
    @TempDir
    Path dir;

    @Test
    void critDecodesEveryEventFdEntry() throws Exception {
        Checkpoint c = EventFdCodecsTest.checkpoint();
        Samples.writePages(dir, c.pagemap());
        c.write(dir);
        String files = Crit.run(Path.of("/"), "decode", "-i", dir.resolve("files.img").toString()).replaceAll("\\s+", "");
        assertThat(files, containsString("\"type\":\"EVENTFD\",\"id\":4,\"efd\":{\"id\":4,\"flags\":2050,"));
        assertThat(files, containsString("\"counter\":18446744073709551614}"));
        assertThat(files, containsString("\"type\":\"TIMERFD\",\"id\":5,\"tfd\":{\"id\":5,\"flags\":2,"));
        assertThat(files, containsString("\"clockid\":1,\"ticks\":3,\"settime_flags\":1,\"vsec\":1,"
                + "\"vnsec\":495073362,\"isec\":0,\"insec\":250000000}"));
        assertThat(files, containsString("\"type\":\"SIGNALFD\",\"id\":6,\"sgfd\":{\"id\":6,\"flags\":2050,"));
        assertThat(files, containsString("\"sigmask\":16896}"));
        assertThat(files, containsString("\"type\":\"INOTIFY\",\"id\":7,\"ify\":{\"id\":7,\"flags\":2048,"));
        assertThat(files, containsString("\"wd\":[{\"id\":7,\"i_ino\":2189196,\"mask\":768,\"ignored_mask\":0,"
                + "\"s_dev\":266338304,\"wd\":1,\"f_handle\":{\"bytes\":8,\"type\":1,\"handle\":["
                + "17091677549611804556,0,"));
        assertThat(files, containsString("\"path\":\"/tmp/watched\"}"));
        assertThat(files, containsString("\"type\":\"EVENTPOLL\",\"id\":8,\"epfd\":{\"id\":8,\"flags\":2,"));
        assertThat(files, containsString("\"tfd\":[{\"id\":8,\"tfd\":3,\"events\":2147483649,"
                + "\"data\":1234605616436508552},{\"id\":8,\"tfd\":4,\"events\":1073741825,\"data\":7}"));
        assertThat(files, containsString("\"name\":\"/dev/urandom\",\"mode\":8630"));
        String fdinfo = Crit.run(Path.of("/"), "decode", "-i", dir.resolve("fdinfo-2.img").toString()).replaceAll("\\s+", "");
        assertThat(fdinfo, containsString("{\"id\":8,\"flags\":1,\"type\":\"EVENTPOLL\",\"fd\":8}"));
        assertThat(fdinfo, containsString("{\"id\":7,\"flags\":1,\"type\":\"INOTIFY\",\"fd\":7}"));
    }

}
