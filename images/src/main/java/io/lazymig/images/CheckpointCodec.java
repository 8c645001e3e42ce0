package io.lazymig.images;

import com.google.protobuf.ByteString;
import io.lazymig.images.proto.carried_file_entry;
import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.fdinfo_entry;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.flock_entry;
import io.lazymig.images.proto.fs_entry;
import io.lazymig.images.proto.inventory_entry;
import io.lazymig.images.proto.lsmtype;
import io.lazymig.images.proto.memfd_inode_entry;
import io.lazymig.images.proto.mm_entry;
import io.lazymig.images.proto.pagemap_head;
import io.lazymig.images.proto.pstree_entry;
import io.lazymig.images.proto.task_kobj_ids_entry;
import io.lazymig.images.proto.vma_entry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * {@link Checkpoint} ↔ image directory, in CRIU's layout: inventory, pstree (one entry per process
 * with its threads), and per process ids, one core per thread ({@link CoreCodec}), mm, pagemap, fs
 * and fdinfo; one files.img for the whole tree (one entry per open file, by {@link FileCodecs},
 * plus the by-path objects: exe, cwd, root and mapped files), and lazymig's own carried-files.img
 * when files travel and flocks.img when flock locks are held. Every error names the image file at fault.
 */
final class CheckpointCodec {
    /** CRTOOLS_IMAGES_V1_1: the only image version CRIU writes today and the only one we read. */
    static final int IMG_VERSION = 2;
    /**
     * Kernel object ids (mm, files, fs, sighand). CRIU's inventory root_ids describe the dumping criu
     * itself and its restore refuses a root task whose ids equal them ("Image corruption on kIDs
     * data"), so, as CRIU's dumps do, the dumper gets 1 and the task 2; files_id 2 names fdinfo-2.img.
     */
    static final int DUMPER_OBJECT_ID = 1;
    static final int TASK_OBJECT_ID = 2;
    static final int FD_CLOEXEC = 1;
    static final int O_RDWR = 2;
    static final int DEFAULT_UMASK = 022;

    private CheckpointCodec() {
    }

    // ================= writing

    static void write(Checkpoint c, ImageDir d) throws IOException {
        FilesImage files = new FilesImage(c.files());
        d.writeInventory(inventory_entry.newBuilder().setImgVersion(IMG_VERSION).setFdinfoPerId(true)
                .setRootIds(kernelObjectIds(DUMPER_OBJECT_ID)).setNsPerId(true).setLsmtype(lsmtype.NO_LSM).build());
        List<pstree_entry> tree = new ArrayList<>();
        Set<Integer> pagesIds = new HashSet<>();
        for (int i = 0; i < c.processes().size(); i++) {
            ProcessImage proc = c.processes().get(i);
            if (!pagesIds.add(proc.pagemap().pagesId())) {
                throw new ImageException("process " + proc.pid() + ": pages id " + proc.pagemap().pagesId()
                        + " is another process's too");
            }
            tree.add(writeProcess(c, proc, TASK_OBJECT_ID + i, files, d));
        }
        List<memfd_inode_entry> memfds = new ArrayList<>();
        for (Shmem m : c.shmems()) {
            if (!pagesIds.add(m.pagemap().pagesId())) {
                throw new ImageException(m.describe() + ": pages id " + m.pagemap().pagesId() + " is another's too");
            }
            checkPagesFile(m.pagemap(), d);
            d.writeShmemPagemap((int) m.shmid(), new ImageDir.PagemapImage(
                    pagemap_head.newBuilder().setPagesId(m.pagemap().pagesId()).build(), ProtoConvert.toProto(m.pagemap())));
            if (m.isMemfd()) {
                memfds.add(memfd_inode_entry.newBuilder().setName(m.memfdName()).setUid(m.uid()).setGid(m.gid())
                        .setSize(m.size()).setShmid((int) m.shmid()).setSeals(m.seals()).setInodeId(m.shmid()).build());
            }
        }
        if (memfds.isEmpty()) {
            Files.deleteIfExists(d.file(ImageType.MEMFD_INODE, 0));
        } else {
            d.writeAll(ImageType.MEMFD_INODE, 0, memfds);
        }
        for (Zombie z : c.zombies()) {
            tree.add(pstree_entry.newBuilder().setPid(z.pid()).setPpid(z.ppid()).setPgid(z.pgid()).setSid(z.sid())
                    .addThreads(z.pid()).build());
            d.writeCore(z.pid(), CoreCodec.encodeZombie(z));
        }
        d.writePstree(tree);
        d.writeFiles(files.entries());
        PipeData.write(c.files(), d);
        List<carried_file_entry> carried = new ArrayList<>();
        for (CarriedFile f : c.carried()) {
            carried.add(carried_file_entry.newBuilder().setPath(f.path()).setMode(f.mode()).setUid(f.uid()).setGid(f.gid())
                    .setContent(ByteString.copyFrom(f.content())).build());
        }
        d.writeCarriedFiles(carried);
        List<flock_entry> locks = new ArrayList<>();
        for (FileLock l : c.locks()) {
            locks.add(flock_entry.newBuilder().setPid(l.pid()).setPath(l.path()).setExclusive(l.exclusive()).setFd(l.fd())
                    .build());
        }
        d.writeFlocks(locks);
        List<ImageDir.QueuedPacket> packets = new ArrayList<>();
        for (FileObject f : c.files()) {
            if (f instanceof UnixSock u) {
                for (int i = 0; i < u.queue().size(); i++) {
                    packets.add(new ImageDir.QueuedPacket(u.id(), u.queue().get(i), u.rights().get(i)));
                }
            }
        }
        d.writeSkQueues(packets);
        for (FileObject f : c.files()) {
            if (f instanceof InetSocket s && s.isCarriedAlive()) {
                d.writeTcpStream((int) s.ino(), new ImageDir.TcpStreamImage(TcpStreamCodec.encode(s.stream(), s.nodelay()),
                        s.stream().inq(), s.stream().outq()));
            }
        }
    }

    /**
     * One live process's images (ids, a core per thread, mm, pagemap, fdinfo, fs) and its pstree
     * entry; {@code objectId} names its kernel objects (mm, files, fs, sighand: one set per
     * process, as lazymig restores no sharing of them between processes).
     */
    private static pstree_entry writeProcess(Checkpoint c, ProcessImage proc, int objectId, FilesImage files,
            ImageDir d) throws IOException {
        ProcessState t = proc.state();
        int pid = t.pid();
        checkPagesFile(proc.pagemap(), d);
        int exeId = files.byPath(t.exePath());
        int cwdId = files.byPath(t.cwd());
        int rootId = files.byPath(t.root());
        List<vma_entry> vmas = new ArrayList<>();
        for (Vma v : proc.vmas()) {
            vmas.add(ProtoConvert.toProto(v, v.isMemfd() ? files.byMemfd(v.shmid())
                    : v.isFileBacked() ? files.byPath(v.path()) : 0));
        }
        List<fdinfo_entry> fdinfo = new ArrayList<>();
        for (FdSlot s : proc.fds()) {
            fdinfo.add(fdinfo_entry.newBuilder().setId(s.fileId()).setFlags(s.closeOnExec() ? FD_CLOEXEC : 0)
                    .setType(FileCodecs.typeOf(c.file(s.fileId()))).setFd(s.fd()).build());
        }
        pstree_entry.Builder entry = pstree_entry.newBuilder().setPid(pid).setPpid(t.ppid()).setPgid(t.pgid())
                .setSid(t.sid());
        for (ThreadState th : proc.threads()) {
            entry.addThreads(th.tid());
        }
        d.writeIds(pid, kernelObjectIds(objectId));
        List<byte[]> cores = CoreCodec.encodeAll(t, proc.threads());
        for (int i = 0; i < cores.size(); i++) {
            d.writeCore(proc.threads().get(i).tid(), cores.get(i));
        }
        MmInfo mm = t.mm();
        mm_entry.Builder m = mm_entry.newBuilder().setMmStartCode(mm.startCode()).setMmEndCode(mm.endCode())
                .setMmStartData(mm.startData()).setMmEndData(mm.endData()).setMmStartStack(mm.startStack())
                .setMmStartBrk(mm.startBrk()).setMmBrk(mm.brk()).setMmArgStart(mm.argStart())
                .setMmArgEnd(mm.argEnd()).setMmEnvStart(mm.envStart()).setMmEnvEnd(mm.envEnd())
                .setExeFileId(exeId).addAllVmas(vmas);
        for (long word : mm.auxv()) {
            m.addMmSavedAuxv(word);
        }
        d.writeMm(pid, m.build());
        d.writePagemap(pid, new ImageDir.PagemapImage(
                pagemap_head.newBuilder().setPagesId(proc.pagemap().pagesId()).build(), ProtoConvert.toProto(proc.pagemap())));
        d.writeFdinfo(objectId, fdinfo);
        d.writeFs(pid, fs_entry.newBuilder().setCwdId(cwdId).setRootId(rootId).setUmask(t.umask()).build());
        return entry.build();
    }

    private static task_kobj_ids_entry kernelObjectIds(int id) {
        return task_kobj_ids_entry.newBuilder().setVmId(id).setFilesId(id).setFsId(id).setSighandId(id).build();
    }

    /** pages-N.img must already hold exactly the present pages; a missing empty one is created. */
    private static void checkPagesFile(Pagemap pagemap, ImageDir d) throws IOException {
        Path pages = d.file(ImageType.PAGES, pagemap.pagesId());
        long expected = pagemap.presentBytes();
        if (!Files.exists(pages)) {
            if (expected != 0) {
                throw new ImageException(pages.getFileName() + ": missing; write the " + expected
                        + " bytes of PE_PRESENT pages first (ImageDir.createPages)");
            }
            d.createPages(pagemap.pagesId()).close();
            return;
        }
        long size = Files.size(pages);
        if (size != expected) {
            throw new ImageException(pages.getFileName() + ": " + size + " bytes, but the pagemap's PE_PRESENT iovs need "
                    + expected);
        }
    }

    /**
     * files.img under construction: the open files with their own ids, then the by-path objects
     * (exe, cwd, root, mapped files), one REG entry per path, numbered after them.
     */
    private static final class FilesImage implements FileTable {
        private final Map<String, Integer> byPath = new LinkedHashMap<>();
        private final Map<Long, Integer> byMemfd = new LinkedHashMap<>();
        private final List<file_entry> entries = new ArrayList<>();
        private int nextId;

        FilesImage(List<FileObject> files) {
            for (FileObject f : files) {
                nextId = Math.max(nextId, f.id());
            }
            nextId++;
            for (FileObject f : files) {
                entries.add(FileCodecs.encode(f, this));
            }
        }

        @Override
        public file_entry get(int id) {
            return null;
        }

        @Override
        public int add(java.util.function.IntFunction<file_entry> make) {
            int id = nextId++;
            entries.add(make.apply(id));
            return id;
        }

        int byPath(String path) {
            Integer id = byPath.get(path);
            if (id == null) {
                id = nextId++;
                int mode = path.equals(DevNull.PATH) ? DevNullCodec.MODE : FilePaths.isTerminal(path) ? TerminalCodec.MODE : 0;
                entries.add(RegEntries.entry(id, path, 0, 0, mode));
                byPath.put(path, id);
            }
            return id;
        }

        /** The MEMFD entry the mappings of memfd {@code shmid} name (CRIU gives each mapping one; one per memfd here). */
        int byMemfd(long shmid) {
            Integer id = byMemfd.get(shmid);
            if (id == null) {
                id = nextId++;
                entries.add(MemfdCodec.entry(id, O_RDWR, 0, shmid));
                byMemfd.put(shmid, id);
            }
            return id;
        }

        List<file_entry> entries() {
            return entries;
        }
    }

    // ================= reading

    static Checkpoint read(ImageDir d, XsaveLayout layoutForCriuImages) throws IOException {
        inventory_entry inventory = d.readInventory();
        String inventoryName = ImageType.INVENTORY.fileName(0);
        if (inventory.getImgVersion() != IMG_VERSION) {
            throw new ImageException(inventoryName + ": img_version " + Integer.toUnsignedString(inventory.getImgVersion())
                    + ", only " + IMG_VERSION + " is supported");
        }
        List<pstree_entry> tree = d.readPstree();
        Map<Long, memfd_inode_entry> memfds = readMemfds(d);
        String memfdName = ImageType.MEMFD_INODE.fileName(0);
        String pstreeName = ImageType.PSTREE.fileName(0);
        if (tree.isEmpty()) {
            throw new ImageException(pstreeName + ": no process");
        }
        String filesName = ImageType.FILES.fileName(0);
        Map<Integer, file_entry> fileTable = new HashMap<>();
        for (file_entry f : d.readFiles()) {
            if (fileTable.put(f.getId(), f) != null) {
                throw new ImageException(filesName + ": id " + Integer.toUnsignedString(f.getId()) + " listed twice");
            }
        }
        List<ProcessImage> processes = new ArrayList<>();
        List<Zombie> zombies = new ArrayList<>();
        Map<Integer, FileObject> files = new LinkedHashMap<>();
        Set<Integer> live = new HashSet<>();
        Set<Integer> seen = new HashSet<>();
        for (pstree_entry p : tree) {
            int pid = p.getPid();
            if (pid <= 0 || p.getPgid() < 0 || p.getSid() < 0) {
                throw new ImageException(pstreeName + ": bad ids: pid " + Integer.toUnsignedString(pid) + " pgid "
                        + Integer.toUnsignedString(p.getPgid()) + " sid " + Integer.toUnsignedString(p.getSid()));
            }
            if (!seen.add(pid)) {
                throw new ImageException(pstreeName + ": pid " + pid + " listed twice");
            }
            if (p == tree.get(0) ? p.getPpid() != 0 : !live.contains(p.getPpid())) {
                throw new ImageException(pstreeName + (p == tree.get(0)
                        ? ": the root process " + pid + " has ppid " + Integer.toUnsignedString(p.getPpid()) + ", expected 0"
                        : ": process " + pid + " has ppid " + Integer.toUnsignedString(p.getPpid())
                                + ", which is not a live process listed before it"));
            }
            core_entry core = d.readCore(pid);
            if (CoreCodec.isZombie(core)) {
                if (p == tree.get(0)) {
                    throw new ImageException(pstreeName + ": the root process " + pid + " is a zombie");
                }
                String coreName = ImageType.CORE.fileName(pid);
                zombies.add(at(coreName, () -> new Zombie(pid, p.getPpid(), p.getPgid(), p.getSid(),
                        core.getTc().getComm(), core.getTc().getExitCode())));
                continue;
            }
            live.add(pid);
            processes.add(readProcess(d, p, core, fileTable, files, memfds, layoutForCriuImages));
        }
        String carriedName = ImageType.CARRIED_FILES.fileName(0);
        List<carried_file_entry> carriedEntries = d.readCarriedFiles();
        List<CarriedFile> carried = at(carriedName, () -> {
            List<CarriedFile> list = new ArrayList<>();
            for (carried_file_entry e : carriedEntries) {
                if (list.stream().anyMatch(c -> c.path().equals(e.getPath()))) {
                    throw new IllegalArgumentException("carried file " + e.getPath() + " listed twice");
                }
                list.add(new CarriedFile(e.getPath(), e.getMode(), e.getUid(), e.getGid(), e.getContent().toByteArray()));
            }
            return list;
        });
        String flocksName = ImageType.FLOCKS.fileName(0);
        List<flock_entry> lockEntries = d.readFlocks();
        List<FileLock> locks = at(flocksName, () -> {
            List<FileLock> list = new ArrayList<>();
            for (flock_entry e : lockEntries) {
                FileLock l = new FileLock(e.getPid(), e.getPath(), e.getExclusive(), e.getFd());
                ProcessImage owner = processes.stream().filter(x -> x.pid() == l.pid()).findFirst().orElse(null);
                if (owner == null) {
                    throw new IllegalArgumentException(l + ": no process " + l.pid() + " in the checkpoint");
                }
                if (!l.viaMapping() && owner.fds().stream().noneMatch(s -> s.fd() == l.fd())) {
                    throw new IllegalArgumentException(l + ": fd " + l.fd() + " is not open");
                }
                if (l.viaMapping() && owner.vmas().stream().noneMatch(v -> l.path().equals(v.path()))) {
                    throw new IllegalArgumentException(l + ": " + l.path() + " is not mapped");
                }
                list.add(l);
            }
            return list;
        });
        String queuesName = ImageType.SK_QUEUES.fileName(0);
        for (ImageDir.QueuedPacket packet : d.readSkQueues()) {
            FileObject f = files.get(packet.socketId());
            if (!(f instanceof UnixSock u)) {
                throw new ImageException(queuesName + ": a packet for file id " + Integer.toUnsignedString(packet.socketId())
                        + ", which is not an open unix socket");
            }
            for (int passed : packet.rights()) {
                file_entry entry = fileTable.get(passed);
                if (entry != null && !files.containsKey(passed)) {
                    // a file in flight only (no fd holds it): read here, for the packet that carries it
                    files.put(passed, at(filesName, () -> FileCodecs.decode(entry, new FileTable() {
                        @Override
                        public file_entry get(int id) {
                            return fileTable.get(id);
                        }

                        @Override
                        public int add(java.util.function.IntFunction<file_entry> make) {
                            throw new IllegalStateException("reading adds no entries");
                        }
                    })));
                }
            }
            List<byte[]> q = new ArrayList<>(u.queue());
            q.add(packet.data());
            List<List<Integer>> r = new ArrayList<>(u.rights());
            r.add(packet.rights());
            files.put(u.id(), at(queuesName, () -> u.withQueue(q, r)));
        }
        for (Map.Entry<Integer, FileObject> f : files.entrySet()) {
            if (f.getValue() instanceof Memfd m) { // its inode_id, as decoded, becomes the object's shmid
                f.setValue(at(memfdName, () -> new Memfd(m.id(), m.flags(), m.pos(),
                        shmidOf(memfds, m.shmid(), "file id " + m.id()))));
            }
        }
        for (FileObject f : new ArrayList<>(files.values())) {
            if (f instanceof InetSocket s && s.isTcp() && s.state() == InetSocket.TCP_ESTABLISHED) {
                ImageDir.TcpStreamImage t = d.readTcpStream((int) s.ino());
                if (t != null) {
                    String name = ImageType.TCP_STREAM.fileName((int) s.ino());
                    files.put(s.id(), at(name, () -> s.withStream(TcpStreamCodec.decode(t.entry(), t.inq(), t.outq()))));
                }
            }
        }
        SocketChecks.check(filesName, queuesName, files.values());
        List<FileObject> withData = PipeData.attach(new ArrayList<>(files.values()), d);
        List<Shmem> shmems = readShmems(d, processes, withData, memfds);
        return at(pstreeName, () -> new Checkpoint(processes, withData, carried, locks, zombies, shmems));
    }

    /**
     * The shared memory objects: every memfd of memfd.img, and every shared anonymous object a VMA
     * names (CRIU keeps no entry for those: the size is the end of the furthest VMA or page), each
     * with its pagemap-shmem-SHMID.img, checked against its pages file.
     */
    private static List<Shmem> readShmems(ImageDir d, List<ProcessImage> processes, List<FileObject> files,
            Map<Long, memfd_inode_entry> memfdsByInode) throws IOException {
        String memfdName = ImageType.MEMFD_INODE.fileName(0);
        Map<Long, memfd_inode_entry> memfds = new LinkedHashMap<>();
        for (memfd_inode_entry e : memfdsByInode.values()) {
            memfds.put(Integer.toUnsignedLong(e.getShmid()), e);
        }
        Map<Long, Long> anonExtent = new LinkedHashMap<>();
        for (ProcessImage p : processes) {
            for (Vma v : p.vmas()) {
                if (v.isShmem() && !v.isMemfd()) {
                    anonExtent.merge(v.shmid(), v.pgoff() + v.length(), Math::max);
                }
            }
        }
        for (FileObject f : files) {
            if (f instanceof Memfd m && !memfds.containsKey(m.shmid())) {
                throw new ImageException(memfdName + ": no memfd inode " + m.shmid() + " for file id " + m.id());
            }
        }
        List<Shmem> out = new ArrayList<>();
        for (long shmid : anonExtent.keySet()) {
            if (memfds.containsKey(shmid)) {
                throw new ImageException(memfdName + ": shmid " + shmid + " is also shared anonymous memory");
            }
        }
        List<Long> ids = new ArrayList<>(anonExtent.keySet());
        ids.addAll(memfds.keySet());
        for (long shmid : ids) {
            if (shmid <= 0 || shmid > 0xffffffffL) {
                throw new ImageException("shmid " + Long.toUnsignedString(shmid) + " out of range (1 to 2^32-1)");
            }
            String name = ImageType.PAGEMAP_SHMEM.fileName((int) shmid);
            ImageDir.PagemapImage image = d.readShmemPagemap((int) shmid);
            memfd_inode_entry e = memfds.get(shmid);
            Shmem m = at(name, () -> {
                Pagemap pm = ProtoConvert.pagemapFromProto(image);
                long size = e != null ? e.getSize() : anonExtent.get(shmid);
                for (PagemapIov iov : pm.iovs()) {
                    size = e != null ? size : Math.max(size, iov.end());
                }
                return e == null ? new Shmem(shmid, size, null, 0, 0, 0, pm)
                        : new Shmem(shmid, size, e.getName(), e.getUid(), e.getGid(), e.getSeals(), pm);
            });
            try (PagesFile pages = d.openPages(m.pagemap().pagesId())) {
                if (pages.size() != m.pagemap().presentBytes()) {
                    throw new ImageException(pages.name() + ": " + pages.size() + " bytes, but " + name + " needs "
                            + m.pagemap().presentBytes());
                }
            }
            out.add(m);
        }
        return out;
    }

    /** One live process of the tree: its threads' cores, mm, pagemap (checked against its pages file), fds and fs. */
    private static ProcessImage readProcess(ImageDir d, pstree_entry p, core_entry core,
            Map<Integer, file_entry> fileTable, Map<Integer, FileObject> files, Map<Long, memfd_inode_entry> memfds,
            XsaveLayout layoutForCriuImages) throws IOException {
        String pstreeName = ImageType.PSTREE.fileName(0);
        int pid = p.getPid();
        List<Integer> tids = threadIds(pstreeName, p);
        task_kobj_ids_entry ids = d.readIds(pid);
        String coreName = ImageType.CORE.fileName(pid);
        at(coreName, () -> {
            CoreCodec.check(core, true);
            return null;
        });
        List<ThreadState> threads = readThreads(d, pid, core, tids, layoutForCriuImages);

        String mmName = ImageType.MM.fileName(pid);
        mm_entry mm = d.readMm(pid);
        List<Vma> vmas = at(mmName, () -> {
            List<Vma> list = new ArrayList<>();
            for (vma_entry v : mm.getVmasList()) {
                list.add(ProtoConvert.fromProto(v, id -> pathOf(fileTable, id, "mapped by vma 0x" + Long.toHexString(v.getStart())),
                        id -> memfdOf(fileTable, memfds, id, "mapped by vma 0x" + Long.toHexString(v.getStart()))));
            }
            ProcessImage.checkVmas(list);
            return list;
        });
        String exePath = at(mmName, () -> pathOf(fileTable, mm.getExeFileId(), "the executable (exe_file_id)"));
        long[] auxv = new long[mm.getMmSavedAuxvCount()];
        for (int i = 0; i < auxv.length; i++) {
            auxv[i] = mm.getMmSavedAuxv(i);
        }
        MmInfo mmInfo = at(mmName, () -> new MmInfo(mm.getMmStartCode(), mm.getMmEndCode(), mm.getMmStartData(),
                mm.getMmEndData(), mm.getMmStartStack(), mm.getMmStartBrk(), mm.getMmBrk(), mm.getMmArgStart(),
                mm.getMmArgEnd(), mm.getMmEnvStart(), mm.getMmEnvEnd(), auxv));

        String pagemapName = ImageType.PAGEMAP.fileName(pid);
        ImageDir.PagemapImage pagemapImage = d.readPagemap(pid);
        Pagemap pagemap = at(pagemapName, () -> {
            Pagemap pm = ProtoConvert.pagemapFromProto(pagemapImage);
            ProcessImage.checkPagemap(vmas, pm);
            return pm;
        });
        try (PagesFile pages = d.openPages(pagemap.pagesId())) {
            if (pages.size() != pagemap.presentBytes()) {
                throw new ImageException(pages.name() + ": " + pages.size() + " bytes, but " + pagemapName
                        + " needs " + pagemap.presentBytes() + " (" + pagemap.presentBytes() / PagemapIov.PAGE_SIZE
                        + " PE_PRESENT pages)");
            }
        }

        String fdinfoName = ImageType.FDINFO.fileName(ids.getFilesId());
        List<FdSlot> fds = new ArrayList<>();
        for (fdinfo_entry f : d.readFdinfo(ids.getFilesId())) {
            String fd = "fd " + Integer.toUnsignedString(f.getFd());
            file_entry entry = fileTable.get(f.getId());
            if (entry == null) {
                throw new ImageException(fdinfoName + ": no file id " + Integer.toUnsignedString(f.getId()) + " for " + fd);
            }
            if (!FileCodecs.supports(f.getType())) {
                throw new ImageException(fdinfoName + ": " + fd + " is of type " + f.getType() + "; "
                        + FileCodecs.SUPPORTED);
            }
            if (entry.getType() != f.getType()) {
                throw new ImageException(fdinfoName + ": " + fd + " is of type " + f.getType() + " but its file id "
                        + Integer.toUnsignedString(f.getId()) + " is of type " + entry.getType());
            }
            if (!files.containsKey(f.getId())) {
                // a bad entry is files.img's, reached through this fd
                files.put(f.getId(), at(ImageType.FILES.fileName(0), () -> {
                    try {
                        return FileCodecs.decode(entry, new FileTable() {
                            @Override
                            public file_entry get(int id) {
                                return fileTable.get(id);
                            }

                            @Override
                            public int add(java.util.function.IntFunction<file_entry> make) {
                                throw new IllegalStateException("reading adds no entries");
                            }
                        });
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(fd + " of " + fdinfoName + ": " + e.getMessage(), e);
                    }
                }));
            }
            fds.add(at(fdinfoName, () -> new FdSlot(f.getFd(), (f.getFlags() & FD_CLOEXEC) != 0, f.getId())));
        }
        fds.sort((x, y) -> Integer.compare(x.fd(), y.fd()));

        String fsName = ImageType.FS.fileName(pid);
        fs_entry fs = d.readFs(pid);
        String cwd = at(fsName, () -> pathOf(fileTable, fs.getCwdId(), "the cwd"));
        String root = at(fsName, () -> pathOf(fileTable, fs.getRootId(), "the root"));
        int umask = fs.hasUmask() ? fs.getUmask() : DEFAULT_UMASK;
        if ((umask & ~0777) != 0) {
            throw new ImageException(fsName + ": umask 0" + Integer.toOctalString(umask) + " has bits outside 0777");
        }

        ProcessState state = at(coreName, () -> ProcessState.builder().pid(pid).ppid(p.getPpid()).pgid(p.getPgid()).sid(p.getSid())
                .comm(core.getTc().getComm()).exePath(exePath).cwd(cwd).root(root)
                .umask(umask).personality(core.getTc().getPersonality())
                .rlimits(ProtoConvert.rlimitsFromProto(core.getTc().getRlimits().getRlimitsList()))
                .sigactions(ProtoConvert.sigactionsFromProto(core.getTc().getSigactionsList()))
                .creds(core.getThreadCore().hasCreds() ? ProtoConvert.fromProto(core.getThreadCore().getCreds()) : Creds.ROOT)
                .sharedPending(CoreCodec.sharedPending(core))
                .timers(TimersCodec.decode(core.getTc()))
                .mm(mmInfo).build());
        return at(fdinfoName, () -> new ProcessImage(state, threads, vmas, pagemap, fds));
    }

    /** From this many threads on, their core images are read and decoded on two CPUs. */
    static final int PARALLEL_THREADS = 16;

    /**
     * Every thread of process {@code pid} ({@code core}: the leader's image, read already), in
     * {@code tids}'s order. With many, the cores are read and decoded in parallel (the common
     * pool): on A this is inside the downtime, 100 core images of a process with 100 threads. A
     * failure is the first thread's in order, as when they are read one by one.
     */
    private static List<ThreadState> readThreads(ImageDir d, int pid, core_entry core, List<Integer> tids,
            XsaveLayout layout) throws IOException {
        int n = tids.size();
        ThreadState[] out = new ThreadState[n];
        IOException[] failed = new IOException[n];
        IntStream range = IntStream.range(0, n);
        (n >= PARALLEL_THREADS ? range.parallel() : range).forEach(i -> {
            int tid = tids.get(i);
            try {
                core_entry c = tid == pid ? core : d.readCore(tid);
                out[i] = at(ImageType.CORE.fileName(tid), () -> {
                    CoreCodec.check(c, tid == pid);
                    return CoreCodec.decodeThread(tid, c, core.getTc().getComm(), layout);
                });
            } catch (IOException e) {
                failed[i] = e;
            }
        });
        for (IOException e : failed) {
            if (e != null) {
                throw e;
            }
        }
        return List.of(out);
    }

    /** The pstree entry's threads, leader first; an entry without any (old images) is the leader alone. */
    private static List<Integer> threadIds(String pstreeName, pstree_entry p) throws ImageException {
        int pid = p.getPid();
        if (p.getThreadsCount() == 0) {
            return List.of(pid);
        }
        if (p.getThreads(0) != pid) {
            throw new ImageException(pstreeName + ": pid " + pid + " has threads " + p.getThreadsList()
                    + "; the first must be the leader, " + pid);
        }
        List<Integer> tids = new ArrayList<>();
        for (int tid : p.getThreadsList()) {
            if (tid <= 0 || tids.contains(tid)) {
                throw new ImageException(pstreeName + ": pid " + pid + " has threads " + p.getThreadsList()
                        + "; thread " + Integer.toUnsignedString(tid) + " is not a new positive tid");
            }
            tids.add(tid);
        }
        return tids;
    }

    private static String pathOf(Map<Integer, file_entry> table, int id, String what) {
        file_entry f = table.get(id);
        if (f == null) {
            throw new IllegalArgumentException("no file id " + Integer.toUnsignedString(id) + " for " + what);
        }
        try {
            return RegEntries.reg(f).getName();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (for " + what + ")", e);
        }
    }

    /**
     * memfd.img's entries by their inode_id, the key MEMFD file entries name them by (lazymig writes
     * the kernel inode, which is also the shmid; CRIU a counter from 1, the shmid apart).
     */
    private static Map<Long, memfd_inode_entry> readMemfds(ImageDir d) throws IOException {
        String memfdName = ImageType.MEMFD_INODE.fileName(0);
        Map<Long, memfd_inode_entry> byInode = new LinkedHashMap<>();
        Set<Integer> shmids = new HashSet<>();
        if (!d.exists(ImageType.MEMFD_INODE, 0)) {
            return byInode;
        }
        for (memfd_inode_entry e : d.readAll(ImageType.MEMFD_INODE, 0, memfd_inode_entry.parser())) {
            if (byInode.put(e.getInodeId(), e) != null) {
                throw new ImageException(memfdName + ": inode_id " + Long.toUnsignedString(e.getInodeId()) + " listed twice");
            }
            if (!shmids.add(e.getShmid())) {
                throw new ImageException(memfdName + ": shmid " + Integer.toUnsignedString(e.getShmid()) + " listed twice");
            }
        }
        return byInode;
    }

    /** The shmid of the memfd a MEMFD entry opens (through its memfd.img entry). */
    private static long memfdOf(Map<Integer, file_entry> table, Map<Long, memfd_inode_entry> memfds, int id,
            String what) {
        file_entry f = table.get(id);
        if (f == null || !f.hasMemfd()) {
            throw new IllegalArgumentException("no memfd file id " + Integer.toUnsignedString(id) + " for " + what);
        }
        return shmidOf(memfds, Integer.toUnsignedLong(f.getMemfd().getInodeId()), "file id " + id);
    }

    private static long shmidOf(Map<Long, memfd_inode_entry> memfds, long inodeId, String what) {
        memfd_inode_entry e = memfds.get(inodeId);
        if (e == null) {
            throw new IllegalArgumentException(what + " opens memfd inode " + inodeId + ", which memfd.img does not list");
        }
        return Integer.toUnsignedLong(e.getShmid());
    }

    interface Conversion<T> {
        T get() throws IOException;
    }

    /** Runs a conversion, turning the model's IllegalArgumentExceptions into ImageExceptions naming {@code file}. */
    static <T> T at(String file, Conversion<T> conversion) throws IOException {
        try {
            return conversion.get();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new ImageException(file + ": " + e.getMessage(), e);
        }
    }
}
