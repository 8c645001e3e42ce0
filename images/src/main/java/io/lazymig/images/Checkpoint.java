package io.lazymig.images;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A checkpoint in CRIU's shape: a tree of processes (parents before children; the root's ppid is
 * 0) and one file table of open files (sorted by id) that the processes' fd slots point at. Everything dump
 * collects and restore needs, except the page data ({@code pages-N.img} per process: write it with
 * {@link ImageDir#createPages(int)}, read it with {@link ImageDir#openPages(int)}).
 *
 * <p>{@code carried}: the small files the processes had open or mapped, with their content, for
 * restore to recreate where they are missing ({@link CarriedFile}). {@code locks}: the flock locks
 * held, through an fd or a mapping ({@link FileLock}).
 *
 * <p>{@code zombies}: the children that had exited but were not reaped at dump ({@link Zombie}),
 * each the child of a live process of the checkpoint. {@link #vmas()}, {@link #pagemap()} and
 * {@link #vmaAt} are the root's, for the page servers and the lazy daemon, which serve one process
 * per checkpoint.
 *
 * <p>{@code shmems}: the shared memory objects (MAP_SHARED anonymous memory, memfds) the processes
 * map or hold, each once however many processes share it ({@link Shmem}); every shared-memory VMA
 * and every open {@link Memfd} names one by its shmid.
 */
public record Checkpoint(List<ProcessImage> processes, List<FileObject> files, List<CarriedFile> carried,
        List<FileLock> locks, List<Zombie> zombies, List<Shmem> shmems) {
    public Checkpoint {
        processes = List.copyOf(processes);
        shmems = List.copyOf(shmems);
        zombies = List.copyOf(zombies);
        carried = List.copyOf(carried);
        locks = List.copyOf(locks);
        Set<String> carriedPaths = new HashSet<>();
        for (CarriedFile c : carried) {
            if (!carriedPaths.add(c.path())) {
                throw new IllegalArgumentException("carried file " + c.path() + " listed twice");
            }
        }
        List<FileObject> sorted = new ArrayList<>(files);
        sorted.sort(Comparator.comparingInt(FileObject::id));
        files = List.copyOf(sorted);
        if (processes.isEmpty()) {
            throw new IllegalArgumentException("a checkpoint has at least one process");
        }
        Set<Integer> pids = new HashSet<>();
        for (ProcessImage p : processes) {
            int ppid = p.state().ppid();
            if (p == processes.get(0) ? ppid != 0 : !pids.contains(ppid)) {
                throw new IllegalArgumentException("process " + p.pid() + " has ppid " + ppid
                        + (p == processes.get(0) ? "; the root's is 0" : ", which is not listed before it"));
            }
            if (!pids.add(p.pid())) {
                throw new IllegalArgumentException("process " + p.pid() + " listed twice");
            }
        }
        CowPages.check(processes);
        for (Zombie z : zombies) {
            if (!pids.contains(z.ppid())) {
                throw new IllegalArgumentException("zombie " + z.pid() + " has ppid " + z.ppid()
                        + ", which is not a live process of the checkpoint");
            }
        }
        for (Zombie z : zombies) {
            if (!pids.add(z.pid())) {
                throw new IllegalArgumentException("process " + z.pid() + " listed twice");
            }
        }
        for (FileLock l : locks) {
            if (!pids.contains(l.pid())) {
                throw new IllegalArgumentException(l + ": no process " + l.pid() + " in the checkpoint");
            }
        }
        Map<Integer, FileObject> byId = new HashMap<>();
        for (FileObject f : files) {
            if (byId.put(f.id(), f) != null) {
                throw new IllegalArgumentException("file id " + f.id() + " listed twice");
            }
        }
        for (ProcessImage p : processes) {
            for (FdSlot s : p.fds()) {
                if (!byId.containsKey(s.fileId())) {
                    throw new IllegalArgumentException("process " + p.pid() + " fd " + s.fd() + " points at file id "
                            + s.fileId() + ", which is not in the file table");
                }
            }
        }        Map<Long, Shmem> objects = new HashMap<>();
        for (Shmem m : shmems) {
            if (objects.put(m.shmid(), m) != null) {
                throw new IllegalArgumentException("shmem " + m.shmid() + " listed twice");
            }
            for (ProcessImage p : processes) {
                if (p.pagemap().pagesId() == m.pagemap().pagesId()) {
                    throw new IllegalArgumentException(m.describe() + ": pages id " + m.pagemap().pagesId()
                            + " is process " + p.pid() + "'s too");
                }
            }
        }
        if (new HashSet<>(shmems.stream().map(m -> m.pagemap().pagesId()).toList()).size() != shmems.size()) {
            throw new IllegalArgumentException("two shmem objects share a pages id");
        }
        for (ProcessImage p : processes) {
            for (Vma v : p.vmas()) {
                if (!v.isShmem()) {
                    continue;
                }
                Shmem m = objects.get(v.shmid());
                if (m == null || m.isMemfd() != v.isMemfd()) {
                    throw new IllegalArgumentException("process " + p.pid() + ": " + v + " maps no "
                            + (v.isMemfd() ? "memfd" : "shared anonymous memory") + " of the checkpoint");
                }
                if (Long.compareUnsigned(v.pgoff() + v.length(), m.size()) > 0 && !m.isMemfd()) {
                    throw new IllegalArgumentException("process " + p.pid() + ": " + v + " lies beyond " + m.describe());
                }
            }
        }
        for (FileObject f : files) {
            if (f instanceof Memfd mf && (objects.get(mf.shmid()) == null || !objects.get(mf.shmid()).isMemfd())) {
                throw new IllegalArgumentException("file id " + mf.id() + ": memfd shmid " + mf.shmid()
                        + " is no memfd of the checkpoint");
            }
        }
    }

    /** The shared memory object {@code shmid}. */
    public Shmem shmem(long shmid) {
        for (Shmem m : shmems) {
            if (m.shmid() == shmid) {
                return m;
            }
        }
        throw new IllegalArgumentException("no shmem " + shmid);
    }

    /** This checkpoint with shared memory object {@code shmid}'s pagemap replaced. */
    public Checkpoint withShmemPagemap(long shmid, Pagemap pagemap) {
        List<Shmem> ms = new ArrayList<>(shmems);
        for (int i = 0; i < ms.size(); i++) {
            Shmem m = ms.get(i);
            if (m.shmid() == shmid) {
                ms.set(i, new Shmem(m.shmid(), m.size(), m.memfdName(), m.uid(), m.gid(), m.seals(), pagemap));
                return new Checkpoint(processes, files, carried, locks, zombies, ms);
            }
        }
        throw new IllegalArgumentException("no shmem " + shmid);
    }

    /** A checkpoint without shared memory. */
    public Checkpoint(List<ProcessImage> processes, List<FileObject> files, List<CarriedFile> carried,
            List<FileLock> locks, List<Zombie> zombies) {
        this(processes, files, carried, locks, zombies, List.of());
    }

    /** A checkpoint without zombies. */
    public Checkpoint(List<ProcessImage> processes, List<FileObject> files, List<CarriedFile> carried,
            List<FileLock> locks) {
        this(processes, files, carried, locks, List.of());
    }

    /** A checkpoint that carries no files and holds no locks. */
    public Checkpoint(List<ProcessImage> processes, List<FileObject> files) {
        this(processes, files, List.of(), List.of());
    }

    /** A checkpoint of one process. */
    public static Checkpoint of(ProcessImage process, List<FileObject> files) {
        return new Checkpoint(List.of(process), files);
    }

    /** A checkpoint of one process with the small files that travel with it and the flock locks it holds. */
    public static Checkpoint of(ProcessImage process, List<FileObject> files, List<CarriedFile> carried,
            List<FileLock> locks) {
        return new Checkpoint(List.of(process), files, carried, locks);
    }

    /** The flock locks held through the mapping of {@code path} (by any process). */
    public Optional<FileLock> mappingLock(String path) {
        return locks.stream().filter(l -> l.viaMapping() && l.path().equals(path)).findFirst();
    }

    /** The flock lock process {@code pid} holds through its fd {@code fd}, if any. */
    public Optional<FileLock> fdLock(int pid, int fd) {
        return locks.stream().filter(l -> l.pid() == pid && l.fd() == fd).findFirst();
    }

    /** Whether the checkpoint holds more than its root: children, live or zombie. */
    public boolean isTree() {
        return processes.size() > 1 || !zombies.isEmpty();
    }

    /** The live process {@code pid}, if it is one of the checkpoint. */
    public Optional<ProcessImage> process(int pid) {
        for (ProcessImage p : processes) {
            if (p.pid() == pid) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The root of the tree: the process that was dumped. */
    public ProcessImage root() {
        return processes.get(0);
    }

    /**
     * The root process; the name the lazy daemon still uses ({@code task().pid()}).
     *
     * @deprecated use {@link #root()}
     */
    @Deprecated
    public ProcessImage task() {
        return root();
    }

    /** The root's VMAs. */
    public List<Vma> vmas() {
        return root().vmas();
    }

    /** The root's pagemap. */
    public Pagemap pagemap() {
        return root().pagemap();
    }

    /** The VMA of the root holding {@code address}, if any. */
    public Optional<Vma> vmaAt(long address) {
        return root().vmaAt(address);
    }

    /** The open file with {@code id}. */
    public FileObject file(int id) {
        for (FileObject f : files) {
            if (f.id() == id) {
                return f;
            }
        }
        throw new IllegalArgumentException("no file id " + id);
    }

    /** This checkpoint with the root's pagemap replaced (the page servers rewrite it for the destination). */
    public Checkpoint withRootPagemap(Pagemap pagemap) {
        ProcessImage r = root();
        List<ProcessImage> ps = new ArrayList<>(processes);
        ps.set(0, new ProcessImage(r.state(), r.threads(), r.vmas(), Objects.requireNonNull(pagemap), r.fds()));
        return new Checkpoint(ps, files, carried, locks, zombies, shmems);
    }

    /** This checkpoint with the pagemap of process {@code pid} replaced. */
    public Checkpoint withPagemap(int pid, Pagemap pagemap) {
        List<ProcessImage> ps = new ArrayList<>(processes);
        for (int i = 0; i < ps.size(); i++) {
            ProcessImage p = ps.get(i);
            if (p.pid() == pid) {
                ps.set(i, new ProcessImage(p.state(), p.threads(), p.vmas(), Objects.requireNonNull(pagemap), p.fds()));
                return new Checkpoint(ps, files, carried, locks, zombies, shmems);
            }
        }
        throw new IllegalArgumentException("no process " + pid + " in the checkpoint");
    }

    /** Writes every image but pages-N.img, which must already hold exactly the PE_PRESENT data (or be absent if there is none). */
    public void write(Path dir) throws IOException {
        CheckpointCodec.write(this, ImageDir.of(dir));
    }

    /** As {@link #write(Path)}, into {@code d} (e.g. {@link ImageDir#withMemory}: the protobuf images in memory). */
    public void write(ImageDir d) throws IOException {
        CheckpointCodec.write(this, d);
    }

    /**
     * Reads and checks a checkpoint that lazymig wrote (it carries the raw XSAVE area and its layout).
     * An image made by CRIU is refused with an {@link ImageException}: read it with
     * {@link #read(Path, XsaveLayout)}.
     */
    public static Checkpoint read(Path dir) throws IOException {
        return CheckpointCodec.read(ImageDir.of(dir), null);
    }

    /**
     * Reads and checks a checkpoint; an image made by CRIU (only CRIU's named fpregs fields) gets its
     * XSAVE area rebuilt in {@code layout}, the layout of the CPU that will use it (this machine's:
     * {@link XsaveLayout#fromCpuid}). A lazymig image keeps its own area and layout.
     */
    public static Checkpoint read(Path dir, XsaveLayout layout) throws IOException {
        return CheckpointCodec.read(ImageDir.of(dir), Objects.requireNonNull(layout, "layout"));
    }

    /** As {@link #read(Path, XsaveLayout)}, from {@code d} (e.g. {@link ImageDir#withMemory}: images received into memory). */
    public static Checkpoint read(ImageDir d, XsaveLayout layout) throws IOException {
        return CheckpointCodec.read(d, Objects.requireNonNull(layout, "layout"));
    }
}
