package io.lazymig.images;

import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.fd_types;
import io.lazymig.images.proto.fdinfo_entry;
import io.lazymig.images.proto.file_entry;
import io.lazymig.images.proto.fown_entry;
import io.lazymig.images.proto.fs_entry;
import io.lazymig.images.proto.inventory_entry;
import io.lazymig.images.proto.itimer_entry;
import io.lazymig.images.proto.lsmtype;
import io.lazymig.images.proto.mm_entry;
import io.lazymig.images.proto.pagemap_head;
import io.lazymig.images.proto.pstree_entry;
import io.lazymig.images.proto.reg_file_entry;
import io.lazymig.images.proto.rseq_entry;
import io.lazymig.images.proto.signal_queue_entry;
import io.lazymig.images.proto.task_core_entry;
import io.lazymig.images.proto.task_kobj_ids_entry;
import io.lazymig.images.proto.task_rlimits_entry;
import io.lazymig.images.proto.task_timers_entry;
import io.lazymig.images.proto.thread_core_entry;
import io.lazymig.images.proto.thread_info_x86;
import io.lazymig.images.proto.user_desc_t;
import io.lazymig.images.proto.vma_entry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link Checkpoint} ↔ image directory. Every error names the image file at fault. */
final class CheckpointCodec {
    /** CRTOOLS_IMAGES_V1_1: the only image version CRIU writes today and the only one we read. */
    static final int IMG_VERSION = 2;
    /** task_state: alive (compel's value). */
    static final int TASK_ALIVE = 1;
    /**
     * Kernel object ids (mm, files, fs, sighand). CRIU's inventory root_ids describe the dumping criu
     * itself and its restore refuses a root task whose ids equal them ("Image corruption on kIDs
     * data"), so, as CRIU's dumps do, the dumper gets 1 and the task 2; files_id 2 names fdinfo-2.img.
     */
    static final int DUMPER_OBJECT_ID = 1;
    static final int TASK_OBJECT_ID = 2;
    /** GDT TLS slots CRIU always writes (GDT_ENTRY_TLS_MIN..MAX on x86_64). */
    static final int TLS_FIRST = 12;
    static final int TLS_SLOTS = 3;
    static final int FD_CLOEXEC = 1;
    static final int S_IFCHR = 0020000;
    /** What we store as st_mode of /dev/null (as CRIU does: the real mode) and of a tty. */
    static final int DEV_NULL_MODE = S_IFCHR | 0666;
    static final int TTY_MODE = S_IFCHR | 0620;
    static final int DEFAULT_UMASK = 022;
    private static final itimer_entry DISARMED = itimer_entry.newBuilder().setIsec(0).setIusec(0).setVsec(0).setVusec(0).build();

    private CheckpointCodec() {
    }

    // ================= writing

    static void write(Checkpoint c, ImageDir d) throws IOException {
        Task t = c.task();
        int pid = t.pid();
        checkPagesFile(c.pagemap(), d);

        FileTable files = new FileTable();
        int exeId = files.byPath(t.exePath());
        int cwdId = files.byPath(t.cwd());
        int rootId = files.byPath(t.root());
        List<vma_entry> vmas = new ArrayList<>();
        for (Vma v : c.vmas()) {
            vmas.add(ProtoConvert.toProto(v, v.isFileBacked() ? files.byPath(v.path()) : 0));
        }
        List<fdinfo_entry> fdinfo = new ArrayList<>();
        Map<Integer, Integer> idOfFd = new HashMap<>();
        for (OpenFile f : c.files()) {
            // fds sharing one open file description share one files.img entry, as CRIU writes them
            int id = f.sharesWith() == OpenFile.OWN ? files.open(f) : idOfFd.get(f.sharesWith());
            idOfFd.put(f.fd(), id);
            fdinfo.add(fdinfo_entry.newBuilder().setId(id).setFlags(f.closeOnExec() ? FD_CLOEXEC : 0)
                    .setType(fd_types.REG).setFd(f.fd()).build());
        }

        task_kobj_ids_entry ids = kernelObjectIds(TASK_OBJECT_ID);
        d.writeInventory(inventory_entry.newBuilder().setImgVersion(IMG_VERSION).setFdinfoPerId(true)
                .setRootIds(kernelObjectIds(DUMPER_OBJECT_ID)).setNsPerId(true).setLsmtype(lsmtype.NO_LSM).build());
        d.writePstree(List.of(pstree_entry.newBuilder().setPid(pid).setPpid(0).setPgid(t.pgid())
                .setSid(t.sid()).addThreads(pid).build()));
        d.writeIds(pid, ids);
        d.writeCore(pid, core(c));
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
                pagemap_head.newBuilder().setPagesId(c.pagemap().pagesId()).build(), ProtoConvert.toProto(c.pagemap())));
        d.writeFiles(files.entries());
        d.writeFdinfo(TASK_OBJECT_ID, fdinfo);
        d.writeFs(pid, fs_entry.newBuilder().setCwdId(cwdId).setRootId(rootId).setUmask(t.umask()).build());
    }

    private static task_kobj_ids_entry kernelObjectIds(int id) {
        return task_kobj_ids_entry.newBuilder().setVmId(id).setFilesId(id).setFsId(id).setSighandId(id).build();
    }

    private static core_entry core(Checkpoint c) {
        Task t = c.task();
        task_core_entry tc = task_core_entry.newBuilder().setTaskState(TASK_ALIVE).setExitCode(0)
                .setPersonality(t.personality()).setFlags(0).setBlkSigset(t.sigmask()).setComm(t.comm())
                .setRlimits(task_rlimits_entry.newBuilder().addAllRlimits(ProtoConvert.rlimitsToProto(t.rlimits())))
                .addAllSigactions(ProtoConvert.sigactionsToProto(t))
                // Timers and pending signals are not in the model: written as "none", which CRIU
                // needs to see rather than absent fields (it would look for legacy images).
                .setTimers(task_timers_entry.newBuilder().setReal(DISARMED).setVirt(DISARMED).setProf(DISARMED))
                .setSignalsS(signal_queue_entry.getDefaultInstance())
                .build();
        thread_core_entry.Builder th = thread_core_entry.newBuilder().setFutexRla(t.robustList().head())
                .setFutexRlaLen(t.robustList().length()).setBlkSigset(t.sigmask()).setComm(t.comm())
                .setSignalsP(signal_queue_entry.getDefaultInstance())
                .setCreds(ProtoConvert.toProto(t.creds()));
        if (t.rseq().isRegistered()) {
            th.setRseqEntry(rseq_entry.newBuilder().setRseqAbiPointer(t.rseq().abiPointer())
                    .setRseqAbiSize(t.rseq().abiSize()).setSignature(t.rseq().signature())
                    .setRseqCsPointer(t.rseq().csPointer()));
        }
        thread_info_x86.Builder ti = thread_info_x86.newBuilder().setClearTidAddr(t.clearTidAddress())
                .setGpregs(ProtoConvert.toProto(c.registers().user()))
                .setFpregs(ProtoConvert.fpregsToProto(c.registers()));
        for (int i = 0; i < TLS_SLOTS; i++) {
            // Empty GDT TLS slots, as CRIU writes them for a 64-bit task that never used set_thread_area.
            ti.addTls(user_desc_t.newBuilder().setEntryNumber(TLS_FIRST + i).setBaseAddr(0).setLimit(0)
                    .setSeg32Bit(false).setContentsH(false).setContentsL(false).setReadExecOnly(true)
                    .setLimitInPages(false).setSegNotPresent(true).setUsable(false));
        }
        return core_entry.newBuilder().setMtype(core_entry.march.X86_64).setThreadInfo(ti).setTc(tc)
                .setThreadCore(th).build();
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

    /** files.img under construction: by-path objects (exe, cwd, root, mapped files) shared, one entry per open fd. */
    private static final class FileTable {
        private final Map<String, Integer> byPath = new LinkedHashMap<>();
        private final List<file_entry> entries = new ArrayList<>();

        int byPath(String path) {
            Integer id = byPath.get(path);
            if (id == null) {
                id = add(path, 0, 0);
                byPath.put(path, id);
            }
            return id;
        }

        int open(OpenFile f) {
            return add(f.path(), f.flags(), f.pos());
        }

        private int add(String path, int flags, long pos) {
            int id = entries.size() + 1;
            reg_file_entry.Builder reg = reg_file_entry.newBuilder().setId(id).setFlags(flags).setPos(pos)
                    .setFown(fown_entry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0))
                    .setName(path);
            switch (OpenFile.kindOf(path)) {
                case DEV_NULL -> reg.setMode(DEV_NULL_MODE);
                case TTY -> reg.setMode(TTY_MODE);
                default -> {
                    // The real st_mode is not in the model; CRIU treats the field as optional.
                }
            }
            entries.add(file_entry.newBuilder().setType(fd_types.REG).setId(id).setReg(reg).build());
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
        String pstreeName = ImageType.PSTREE.fileName(0);
        if (tree.size() != 1) {
            throw new ImageException(pstreeName + ": " + tree.size() + " processes; lazymig handles exactly one");
        }
        pstree_entry p = tree.get(0);
        int pid = p.getPid();
        if (pid <= 0 || p.getPgid() < 0 || p.getSid() < 0) {
            throw new ImageException(pstreeName + ": bad ids: pid " + Integer.toUnsignedString(pid) + " pgid "
                    + Integer.toUnsignedString(p.getPgid()) + " sid " + Integer.toUnsignedString(p.getSid()));
        }
        if (p.getThreadsCount() > 1 || p.getThreadsCount() == 1 && p.getThreads(0) != pid) {
            throw new ImageException(pstreeName + ": pid " + pid + " has threads " + p.getThreadsList()
                    + "; lazymig handles single-threaded processes");
        }
        task_kobj_ids_entry ids = d.readIds(pid);

        String filesName = ImageType.FILES.fileName(0);
        Map<Integer, file_entry> fileTable = new HashMap<>();
        for (file_entry f : d.readFiles()) {
            if (fileTable.put(f.getId(), f) != null) {
                throw new ImageException(filesName + ": id " + Integer.toUnsignedString(f.getId()) + " listed twice");
            }
        }

        String coreName = ImageType.CORE.fileName(pid);
        core_entry core = d.readCore(pid);
        if (core.getMtype() != core_entry.march.X86_64) {
            throw new ImageException(coreName + ": architecture " + core.getMtype() + ", only X86_64 is supported");
        }
        if (!core.hasThreadInfo() || !core.hasTc() || !core.hasThreadCore()) {
            throw new ImageException(coreName + ": needs thread_info, tc and thread_core");
        }
        task_core_entry tc = core.getTc();
        thread_core_entry th = core.getThreadCore();
        thread_info_x86 ti = core.getThreadInfo();
        Registers registers = at(coreName, () -> {
            UserRegs user = ProtoConvert.fromProto(ti.getGpregs());
            if (!ti.getFpregs().hasLazymigXsaveArea() && layoutForCriuImages == null) {
                throw new IllegalArgumentException("no lazymig xsave area (an image made by CRIU): rebuilding the XSAVE"
                        + " area from CRIU's fields needs this CPU's layout, and none was given");
            }
            return ProtoConvert.registersFromProto(user, ti.getFpregs(), layoutForCriuImages);
        });

        String mmName = ImageType.MM.fileName(pid);
        mm_entry mm = d.readMm(pid);
        List<Vma> vmas = at(mmName, () -> {
            List<Vma> list = new ArrayList<>();
            for (vma_entry v : mm.getVmasList()) {
                list.add(ProtoConvert.fromProto(v, id -> pathOf(fileTable, id, "mapped by vma 0x" + Long.toHexString(v.getStart()))));
            }
            Checkpoint.checkVmas(list);
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
            Checkpoint.checkPagemap(vmas, pm);
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
        List<OpenFile> files = new ArrayList<>();
        Map<Integer, Integer> firstFdOfId = new HashMap<>();
        for (fdinfo_entry f : d.readFdinfo(ids.getFilesId())) {
            if (f.getType() != fd_types.REG) {
                throw new ImageException(fdinfoName + ": fd " + Integer.toUnsignedString(f.getFd()) + " is of type "
                        + f.getType() + "; lazymig restores regular files, /dev/null and ttys only");
            }
            reg_file_entry reg = at(fdinfoName, () -> regOf(fileTable, f.getId(), "fd " + Integer.toUnsignedString(f.getFd())));
            Integer first = firstFdOfId.get(f.getId());
            int sharesWith = first == null || first >= f.getFd() ? OpenFile.OWN : first;
            if (first == null) {
                firstFdOfId.put(f.getId(), f.getFd());
            }
            files.add(at(fdinfoName, () -> new OpenFile(f.getFd(), (f.getFlags() & FD_CLOEXEC) != 0, reg.getName(),
                    reg.getFlags(), reg.getPos(), sharesWith)));
        }

        String fsName = ImageType.FS.fileName(pid);
        fs_entry fs = d.readFs(pid);
        String cwd = at(fsName, () -> pathOf(fileTable, fs.getCwdId(), "the cwd"));
        String root = at(fsName, () -> pathOf(fileTable, fs.getRootId(), "the root"));
        int umask = fs.hasUmask() ? fs.getUmask() : DEFAULT_UMASK;
        if ((umask & ~0777) != 0) {
            throw new ImageException(fsName + ": umask 0" + Integer.toOctalString(umask) + " has bits outside 0777");
        }

        Task task = at(coreName, () -> Task.builder().pid(pid).pgid(p.getPgid()).sid(p.getSid())
                .comm(tc.getComm()).exePath(exePath).cwd(cwd).root(root)
                .umask(umask).personality(tc.getPersonality())
                .sigmask(th.hasBlkSigset() ? th.getBlkSigset() : tc.getBlkSigset())
                .rlimits(ProtoConvert.rlimitsFromProto(tc.getRlimits().getRlimitsList()))
                .sigactions(ProtoConvert.sigactionsFromProto(tc.getSigactionsList()))
                .rseq(th.hasRseqEntry() ? new Rseq(th.getRseqEntry().getRseqAbiPointer(), th.getRseqEntry().getRseqAbiSize(),
                        th.getRseqEntry().getSignature(), th.getRseqEntry().getRseqCsPointer()) : Rseq.NONE)
                .robustList(new RobustList(th.getFutexRla(), th.getFutexRlaLen()))
                .clearTidAddress(ti.getClearTidAddr())
                .creds(th.hasCreds() ? ProtoConvert.fromProto(th.getCreds()) : Creds.ROOT)
                .mm(mmInfo).build());
        return at(fdinfoName, () -> new Checkpoint(task, registers, vmas, pagemap, files));
    }

    private static reg_file_entry regOf(Map<Integer, file_entry> table, int id, String what) {
        file_entry f = table.get(id);
        if (f == null) {
            throw new IllegalArgumentException("no file id " + Integer.toUnsignedString(id) + " for " + what);
        }
        if (f.getType() != fd_types.REG || !f.hasReg()) {
            throw new IllegalArgumentException("file id " + Integer.toUnsignedString(id) + " for " + what + " is of type "
                    + f.getType() + (f.hasReg() ? "" : " without a reg entry") + ", expected REG");
        }
        return f.getReg();
    }

    private static String pathOf(Map<Integer, file_entry> table, int id, String what) {
        String name = regOf(table, id, what).getName();
        OpenFile.checkPath(name);
        return name;
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
