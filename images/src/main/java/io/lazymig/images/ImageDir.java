package io.lazymig.images;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.lazymig.images.proto.carried_file_entry;
import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.fdinfo_entry;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.flock_entry;
import io.lazymig.images.proto.pipe_data_entry;
import io.lazymig.images.proto.fs_entry;
import io.lazymig.images.proto.inventory_entry;
import io.lazymig.images.proto.mm_entry;
import io.lazymig.images.proto.pagemap_entry;
import io.lazymig.images.proto.pagemap_head;
import io.lazymig.images.proto.pstree_entry;
import io.lazymig.images.proto.sk_packet_entry;
import io.lazymig.images.proto.task_kobj_ids_entry;
import io.lazymig.images.proto.tcp_stream_entry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A directory of CRIU images: each image read or written as its protobuf entries, plus access to the
 * raw pages files. It checks framing only (magics, sizes, protobuf well-formedness, enum values,
 * entry counts); meaning is checked when converting to the model ({@link Checkpoint#read(Path)}).
 * Every failure is an {@link ImageException} naming the file.
 */
public final class ImageDir {
    private final Path dir;
    /** Where the protobuf images are written, by file name, when not to {@link #dir} (null: files). */
    private final Map<String, byte[]> memory;
    /** Core images of {@link #memory} already parsed (null: none). */
    private final CoreReadAhead ahead;

    private ImageDir(Path dir, Map<String, byte[]> memory, CoreReadAhead ahead) {
        this.dir = dir;
        this.memory = memory;
        this.ahead = ahead;
    }

    public static ImageDir of(Path dir) {
        return new ImageDir(Objects.requireNonNull(dir, "dir"), null, null);
    }

    /**
     * A directory whose protobuf images are kept in {@code memory} by file name: written into it
     * instead of files, and read from it when there (else from their files); the raw pages files
     * stay files in {@code dir}. For images sent or received at once: a process with 100 threads
     * has 110 of them, whose files cost 30-400 ms to create, rename and delete on a busy disk.
     */
    public static ImageDir withMemory(Path dir, Map<String, byte[]> memory) {
        return new ImageDir(Objects.requireNonNull(dir, "dir"), Objects.requireNonNull(memory, "memory"), null);
    }

    /** As {@link #withMemory(Path, Map)}, its core images taken from {@code ahead} where it parsed them already. */
    public static ImageDir withMemory(Path dir, Map<String, byte[]> memory, CoreReadAhead ahead) {
        return new ImageDir(Objects.requireNonNull(dir, "dir"), Objects.requireNonNull(memory, "memory"),
                Objects.requireNonNull(ahead, "ahead"));
    }

    /** A reader of one protobuf image: from the memory when it is there, else its file. */
    private ImageReader reader(ImageType type, int id) throws ImageException {
        byte[] held = memory == null ? null : memory.get(type.fileName(id));
        return held != null ? ImageReader.of(type.fileName(id), held, type) : ImageReader.open(file(type, id), type);
    }

    /** A writer of one protobuf image: a file in the directory, or bytes in its map. */
    private ImageWriter writer(ImageType type, int id) throws IOException {
        return memory != null ? ImageWriter.toMemory(file(type, id), type, memory) : ImageWriter.create(file(type, id), type);
    }

    public Path dir() {
        return dir;
    }

    public Path file(ImageType type, int id) {
        return dir.resolve(type.fileName(id));
    }

    public boolean exists(ImageType type, int id) {
        return memory != null && memory.containsKey(type.fileName(id)) || Files.exists(file(type, id));
    }

    /** The pagemap image: its head and its entries. */
    public record PagemapImage(pagemap_head head, List<pagemap_entry> entries) {
        public PagemapImage {
            Objects.requireNonNull(head, "head");
            entries = List.copyOf(entries);
        }
    }

    // ---- reading

    public inventory_entry readInventory() throws ImageException {
        return readOne(ImageType.INVENTORY, 0, inventory_entry.parser());
    }

    public List<pstree_entry> readPstree() throws ImageException {
        return readAll(ImageType.PSTREE, 0, pstree_entry.parser());
    }

    public core_entry readCore(int tid) throws ImageException {
        if (ahead != null) {
            String name = ImageType.CORE.fileName(tid);
            byte[] held = memory.get(name);
            core_entry parsed = held == null ? null : ahead.take(name, held);
            if (parsed != null) {
                return parsed;
            }
        }
        return readOne(ImageType.CORE, tid, core_entry.parser());
    }

    public task_kobj_ids_entry readIds(int pid) throws ImageException {
        return readOne(ImageType.IDS, pid, task_kobj_ids_entry.parser());
    }

    public mm_entry readMm(int pid) throws ImageException {
        return readOne(ImageType.MM, pid, mm_entry.parser());
    }

    public PagemapImage readPagemap(int pid) throws ImageException {
        return readPagemap(ImageType.PAGEMAP, pid);
    }

    /** pagemap-shmem-SHMID.img of a shared memory object ({@code shmid} an unsigned 32-bit value). */
    public PagemapImage readShmemPagemap(int shmid) throws ImageException {
        return readPagemap(ImageType.PAGEMAP_SHMEM, shmid);
    }

    private PagemapImage readPagemap(ImageType type, int id) throws ImageException {
        try (ImageReader reader = reader(type, id)) {
            pagemap_head head = reader.next(pagemap_head.parser());
            List<pagemap_entry> entries = new ArrayList<>();
            while (!reader.atEnd()) {
                entries.add(reader.next(pagemap_entry.parser()));
            }
            return new PagemapImage(head, entries);
        }
    }

    public List<file_entry> readFiles() throws ImageException {
        return readAll(ImageType.FILES, 0, file_entry.parser());
    }

    public List<fdinfo_entry> readFdinfo(int filesId) throws ImageException {
        return readAll(ImageType.FDINFO, filesId, fdinfo_entry.parser());
    }

    public fs_entry readFs(int pid) throws ImageException {
        return readOne(ImageType.FS, pid, fs_entry.parser());
    }

    /** The carried files; none when the image is absent (CRIU's dumps and older lazymig ones have none). */
    public List<carried_file_entry> readCarriedFiles() throws ImageException {
        if (!exists(ImageType.CARRIED_FILES, 0)) {
            return List.of();
        }
        return readAll(ImageType.CARRIED_FILES, 0, carried_file_entry.parser());
    }

    /** The flock locks; none when the image is absent. */
    public List<flock_entry> readFlocks() throws ImageException {
        if (!exists(ImageType.FLOCKS, 0)) {
            return List.of();
        }
        return readAll(ImageType.FLOCKS, 0, flock_entry.parser());
    }

    /** One entry of pipes-data.img or fifo-data.img with the bytes that follow it. */
    public record PipeDataEntry(pipe_data_entry entry, byte[] bytes) {
    }

    /** The entries of pipes-data.img or fifo-data.img ({@code type}); none when the image is absent. */
    public List<PipeDataEntry> readPipeData(ImageType type) throws ImageException {
        if (!exists(type, 0)) {
            return List.of();
        }
        try (ImageReader reader = reader(type, 0)) {
            List<PipeDataEntry> entries = new ArrayList<>();
            while (!reader.atEnd()) {
                pipe_data_entry e = reader.next(pipe_data_entry.parser());
                entries.add(new PipeDataEntry(e, reader.blob(Integer.toUnsignedLong(e.getBytes()))));
            }
            return entries;
        }
    }

    /** Writes pipes-data.img or fifo-data.img; with no entries, removes it. */
    public void writePipeData(ImageType type, List<PipeDataEntry> entries) throws IOException {
        if (entries.isEmpty()) {
            Files.deleteIfExists(file(type, 0));
            return;
        }
        try (ImageWriter writer = writer(type, 0)) {
            for (PipeDataEntry e : entries) {
                writer.write(e.entry());
                writer.writeBlob(e.bytes());
            }
            writer.commit();
        }
    }

    /**
     * One packet of sk-queues.img: the file id of the socket whose queue holds it, its bytes, and the
     * file ids of the fds it carries (its SCM_RIGHTS scm entry; empty: none).
     */
    public record QueuedPacket(int socketId, byte[] data, List<Integer> rights) {
        public QueuedPacket(int socketId, byte[] data) {
            this(socketId, data, List.of());
        }

        public QueuedPacket {
            rights = List.copyOf(rights);
        }
    }

    /** The scm_entry type of passed fds (SCM_RIGHTS, as in the kernel's cmsg). */
    public static final int SCM_RIGHTS = 1;

    /** The queued packets, in order; none when the image is absent. */
    public List<QueuedPacket> readSkQueues() throws ImageException {
        List<QueuedPacket> out = new ArrayList<>();
        if (!exists(ImageType.SK_QUEUES, 0)) {
            return out;
        }
        try (ImageReader reader = reader(ImageType.SK_QUEUES, 0)) {
            while (!reader.atEnd()) {
                sk_packet_entry e = reader.next(sk_packet_entry.parser());
                List<Integer> rights = new ArrayList<>();
                for (io.lazymig.images.proto.scm_entry scm : e.getScmList()) {
                    if (scm.getType() != SCM_RIGHTS) {
                        throw new ImageException(reader.name() + ": entry " + reader.entriesRead() + " carries SCM data of type "
                                + Integer.toUnsignedString(scm.getType()) + " (only SCM_RIGHTS, passed fds, is supported)");
                    }
                    rights.addAll(scm.getRightsList());
                }
                int n = reader.entriesRead();
                out.add(new QueuedPacket(e.getIdFor(), reader.nextRaw(Integer.toUnsignedLong(e.getLength()),
                        "entry " + n + "'s data"), rights));
            }
        }
        return out;
    }

    /** Writes sk-queues.img (each entry then its bytes); with no packet, removes it. */
    public void writeSkQueues(List<QueuedPacket> packets) throws IOException {
        if (packets.isEmpty()) {
            Files.deleteIfExists(file(ImageType.SK_QUEUES, 0));
            return;
        }
        try (ImageWriter writer = writer(ImageType.SK_QUEUES, 0)) {
            for (QueuedPacket p : packets) {
                sk_packet_entry.Builder e = sk_packet_entry.newBuilder().setIdFor(p.socketId()).setLength(p.data().length);
                if (!p.rights().isEmpty()) {
                    e.addScm(io.lazymig.images.proto.scm_entry.newBuilder().setType(SCM_RIGHTS).addAllRights(p.rights()));
                }
                writer.write(e.build());
                writer.writeBlob(p.data());
            }
            writer.commit();
        }
    }

    /** tcp-stream-INO.img: its entry and the bytes of the receive and send queues after it. */
    public record TcpStreamImage(tcp_stream_entry entry, byte[] inq, byte[] outq) {
    }

    /** The stream of the socket with inode {@code ino}; null when it has no tcp-stream image. */
    public TcpStreamImage readTcpStream(int ino) throws ImageException {
        if (!exists(ImageType.TCP_STREAM, ino)) {
            return null;
        }
        try (ImageReader reader = reader(ImageType.TCP_STREAM, ino)) {
            tcp_stream_entry e = reader.next(tcp_stream_entry.parser());
            byte[] inq = reader.nextRaw(Integer.toUnsignedLong(e.getInqLen()), "the receive queue");
            byte[] outq = reader.nextRaw(Integer.toUnsignedLong(e.getOutqLen()), "the send queue");
            if (!reader.atEnd()) {
                throw new ImageException(reader.name() + ": bytes after the send queue");
            }
            return new TcpStreamImage(e, inq, outq);
        }
    }

    /** Writes tcp-stream-INO.img (INO in hex, as CRIU names it). */
    public void writeTcpStream(int ino, TcpStreamImage image) throws IOException {
        try (ImageWriter writer = writer(ImageType.TCP_STREAM, ino)) {
            writer.write(image.entry());
            writer.writeBlob(image.inq());
            writer.writeBlob(image.outq());
            writer.commit();
        }
    }

    /** Opens pages-N.img for positioned reads. */
    public PagesFile openPages(int pagesId) throws ImageException {
        return PagesFile.open(file(ImageType.PAGES, pagesId));
    }

    /** Every entry of a protobuf image. */
    public <T extends Message> List<T> readAll(ImageType type, int id, Parser<T> parser) throws ImageException {
        try (ImageReader reader = reader(type, id)) {
            List<T> entries = new ArrayList<>();
            while (!reader.atEnd()) {
                entries.add(reader.next(parser));
            }
            return entries;
        }
    }

    /** The single entry of an image that must hold exactly one. */
    public <T extends Message> T readOne(ImageType type, int id, Parser<T> parser) throws ImageException {
        try (ImageReader reader = reader(type, id)) {
            if (reader.atEnd()) {
                throw new ImageException(reader.name() + ": no entry, expected exactly one");
            }
            T entry = reader.next(parser);
            if (!reader.atEnd()) {
                throw new ImageException(reader.name() + ": more than one entry, expected exactly one");
            }
            return entry;
        }
    }

    // ---- writing

    public void writeInventory(inventory_entry entry) throws IOException {
        writeAll(ImageType.INVENTORY, 0, List.of(entry));
    }

    public void writePstree(List<pstree_entry> entries) throws IOException {
        writeAll(ImageType.PSTREE, 0, entries);
    }

    public void writeCore(int tid, core_entry entry) throws IOException {
        writeAll(ImageType.CORE, tid, List.of(entry));
    }

    /** core-TID.img with its one entry given as protobuf bytes ({@link CoreCodec#encodeBytes}). */
    void writeCore(int tid, byte[] entry) throws IOException {
        try (ImageWriter writer = writer(ImageType.CORE, tid)) {
            writer.writeEncoded(entry);
            writer.commit();
        }
    }

    public void writeIds(int pid, task_kobj_ids_entry entry) throws IOException {
        writeAll(ImageType.IDS, pid, List.of(entry));
    }

    public void writeMm(int pid, mm_entry entry) throws IOException {
        writeAll(ImageType.MM, pid, List.of(entry));
    }

    public void writePagemap(int pid, PagemapImage image) throws IOException {
        writePagemap(ImageType.PAGEMAP, pid, image);
    }

    public void writeShmemPagemap(int shmid, PagemapImage image) throws IOException {
        writePagemap(ImageType.PAGEMAP_SHMEM, shmid, image);
    }

    private void writePagemap(ImageType type, int id, PagemapImage image) throws IOException {
        List<Message> all = new ArrayList<>();
        all.add(image.head());
        all.addAll(image.entries());
        writeAll(type, id, all);
    }

    public void writeFiles(List<file_entry> entries) throws IOException {
        writeAll(ImageType.FILES, 0, entries);
    }

    public void writeFdinfo(int filesId, List<fdinfo_entry> entries) throws IOException {
        writeAll(ImageType.FDINFO, filesId, entries);
    }

    public void writeFs(int pid, fs_entry entry) throws IOException {
        writeAll(ImageType.FS, pid, List.of(entry));
    }

    /** Writes carried-files.img; with no entries, removes it (so a rewritten directory holds no stale one). */
    public void writeCarriedFiles(List<carried_file_entry> entries) throws IOException {
        if (entries.isEmpty()) {
            Files.deleteIfExists(file(ImageType.CARRIED_FILES, 0));
            return;
        }
        writeAll(ImageType.CARRIED_FILES, 0, entries);
    }

    /** Writes flocks.img; with no entries, removes it. */
    public void writeFlocks(List<flock_entry> entries) throws IOException {
        if (entries.isEmpty()) {
            Files.deleteIfExists(file(ImageType.FLOCKS, 0));
            return;
        }
        writeAll(ImageType.FLOCKS, 0, entries);
    }

    /** Creates (or truncates) pages-N.img for appending page data. */
    public PagesWriter createPages(int pagesId) throws IOException {
        return PagesWriter.create(file(ImageType.PAGES, pagesId));
    }

    /** Writes a protobuf image atomically (temporary file, then rename). */
    public void writeAll(ImageType type, int id, List<? extends Message> entries) throws IOException {
        try (ImageWriter writer = writer(type, id)) {
            for (Message entry : entries) {
                writer.write(entry);
            }
            writer.commit();
        }
    }
}
