package io.lazymig.dump;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcTextTest {
    @TempDir
    Path dir;

    @Test
    void aNameThatIsNotUtf8IsReadNotRefused() throws Exception {
        // /proc/PID/stat of a process whose name was set to bytes 0xff 0xfe by PR_SET_NAME
        Path stat = dir.resolve("stat");
        byte[] head = "4242 (".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] tail = "ab) S 1 4242 4242 0 -1\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + 2 + tail.length];
        System.arraycopy(head, 0, all, 0, head.length);
        all[head.length] = (byte) 0xff;
        all[head.length + 1] = (byte) 0xfe;
        System.arraycopy(tail, 0, all, head.length + 2, tail.length);
        Files.write(stat, all);

        String text = ProcText.read(stat);
        assertThat(text.substring(text.lastIndexOf(')') + 2).split(" ")[2], is("4242"));
        assertThat(ProcText.lines(stat), contains(text.strip()));
    }
}
