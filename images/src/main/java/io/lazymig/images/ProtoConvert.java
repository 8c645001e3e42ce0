package io.lazymig.images;

import io.lazymig.images.proto.creds_entry;
import io.lazymig.images.proto.lazymig_xsave_component;
import io.lazymig.images.proto.pagemap_entry;
import io.lazymig.images.proto.rlimit_entry;
import io.lazymig.images.proto.sa_entry;
import io.lazymig.images.proto.user_x86_fpregs_entry;
import io.lazymig.images.proto.user_x86_regs_entry;
import io.lazymig.images.proto.user_x86_regs_mode;
import io.lazymig.images.proto.user_x86_xsave_entry;
import io.lazymig.images.proto.vma_entry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Model ↔ protobuf conversion of the pieces that stand alone (registers, VMAs, pagemap entries,
 * signal actions, rlimits). Conversions from protobuf throw IllegalArgumentException on values the
 * model rejects; {@link Checkpoint#read(java.nio.file.Path)} turns those into ImageExceptions naming
 * the file.
 */
public final class ProtoConvert {
    /** Word counts of CRIU's fpregs/xsave arrays (CRIU-FACTS §4.5). */
    static final int ST_WORDS = 32;
    static final int XMM_WORDS = 64;
    static final int PADDING_WORDS = 24;
    static final int PADDING_OFFSET = 416;
    static final int O_RDWR = 2;
    private static final long U32_MAX = 0xFFFF_FFFFL;

    private ProtoConvert() {
    }

    // ---- general registers

    public static user_x86_regs_entry toProto(UserRegs r) {
        return user_x86_regs_entry.newBuilder()
                .setR15(r.r15()).setR14(r.r14()).setR13(r.r13()).setR12(r.r12()).setBp(r.bp()).setBx(r.bx())
                .setR11(r.r11()).setR10(r.r10()).setR9(r.r9()).setR8(r.r8()).setAx(r.ax()).setCx(r.cx())
                .setDx(r.dx()).setSi(r.si()).setDi(r.di()).setOrigAx(r.origAx()).setIp(r.ip()).setCs(r.cs())
                .setFlags(r.flags()).setSp(r.sp()).setSs(r.ss()).setFsBase(r.fsBase()).setGsBase(r.gsBase())
                .setDs(r.ds()).setEs(r.es()).setFs(r.fs()).setGs(r.gs())
                .setMode(user_x86_regs_mode.NATIVE)
                .build();
    }

    public static UserRegs fromProto(user_x86_regs_entry p) {
        if (p.getMode() != user_x86_regs_mode.NATIVE) {
            throw new IllegalArgumentException("gpregs mode " + p.getMode() + ": only NATIVE (64-bit) tasks are supported");
        }
        return new UserRegs(p.getR15(), p.getR14(), p.getR13(), p.getR12(), p.getBp(), p.getBx(), p.getR11(),
                p.getR10(), p.getR9(), p.getR8(), p.getAx(), p.getCx(), p.getDx(), p.getSi(), p.getDi(),
                p.getOrigAx(), p.getIp(), p.getCs(), p.getFlags(), p.getSp(), p.getSs(), p.getFsBase(),
                p.getGsBase(), p.getDs(), p.getEs(), p.getFs(), p.getGs());
    }

    // ---- FPU / extended state

    /**
     * CRIU's fpregs (with xsave) from the raw area: the legacy region at its fixed offsets, the header's
     * xstate_bv, and each component the layout places inside the area. The raw area and the layout are
     * also kept verbatim in lazymig's own fields (20001, 20002), so nothing is lost.
     */
    public static user_x86_fpregs_entry fpregsToProto(Registers regs) {
        byte[] area = regs.xstate();
        ByteBuffer a = ByteBuffer.wrap(area).order(ByteOrder.LITTLE_ENDIAN);
        user_x86_fpregs_entry.Builder fp = user_x86_fpregs_entry.newBuilder()
                .setCwd(a.getShort(0) & 0xFFFF).setSwd(a.getShort(2) & 0xFFFF).setTwd(a.getShort(4) & 0xFFFF)
                .setFop(a.getShort(6) & 0xFFFF).setRip(a.getLong(8)).setRdp(a.getLong(16))
                .setMxcsr(a.getInt(24)).setMxcsrMask(a.getInt(28));
        for (int i = 0; i < ST_WORDS; i++) {
            fp.addStSpace(a.getInt(32 + 4 * i));
        }
        for (int i = 0; i < XMM_WORDS; i++) {
            fp.addXmmSpace(a.getInt(160 + 4 * i));
        }
        for (int i = 0; i < PADDING_WORDS; i++) {
            fp.addPadding(a.getInt(PADDING_OFFSET + 4 * i));
        }
        if (area.length >= XsaveLayout.EXTENDED_START) {
            user_x86_xsave_entry.Builder x = user_x86_xsave_entry.newBuilder().setXstateBv(a.getLong(XsaveLayout.HEADER_OFFSET));
            for (XsaveLayout.Component c : regs.layout().components()) {
                if (c.end() > area.length) {
                    continue;
                }
                switch (c.feature()) {
                    case XsaveLayout.FEATURE_YMM -> readInts(a, c, 64).forEach(x::addYmmhSpace);
                    case XsaveLayout.FEATURE_BNDREGS -> readLongs(a, c, 8).forEach(x::addBndregState);
                    case XsaveLayout.FEATURE_BNDCSR -> readLongs(a, c, 8).forEach(x::addBndcsrState);
                    case XsaveLayout.FEATURE_OPMASK -> readLongs(a, c, 8).forEach(x::addOpmaskReg);
                    case XsaveLayout.FEATURE_ZMM_HI256 -> readLongs(a, c, 64).forEach(x::addZmmUpper);
                    case XsaveLayout.FEATURE_HI16_ZMM -> readLongs(a, c, 128).forEach(x::addHi16Zmm);
                    case XsaveLayout.FEATURE_PKRU -> readInts(a, c, 2).forEach(x::addPkru);
                    default -> {
                        // Not representable in CRIU's fields; kept in the raw area only.
                    }
                }
            }
            fp.setXsave(x);
        }
        fp.setLazymigXsaveArea(com.google.protobuf.ByteString.copyFrom(area));
        for (XsaveLayout.Component c : regs.layout().components()) {
            fp.addLazymigXsaveLayout(lazymig_xsave_component.newBuilder()
                    .setFeature(c.feature()).setOffset(c.offset()).setSize(c.size()));
        }
        return fp.build();
    }

    /**
     * Registers from CRIU's fields. A lazymig image carries the raw area and its layout, which win.
     * A CRIU image has only the named fields: the area is rebuilt in {@code layout} (the CPU that will
     * use it); components the layout lacks are dropped.
     */
    public static Registers registersFromProto(UserRegs user, user_x86_fpregs_entry fp, XsaveLayout layout) {
        if (fp.hasLazymigXsaveArea()) {
            List<XsaveLayout.Component> components = new ArrayList<>();
            for (lazymig_xsave_component c : fp.getLazymigXsaveLayoutList()) {
                components.add(new XsaveLayout.Component(c.getFeature(), c.getOffset(), c.getSize()));
            }
            return new Registers(user, fp.getLazymigXsaveArea().toByteArray(), new XsaveLayout(components));
        }
        checkCount("fpregs.st_space", fp.getStSpaceCount(), ST_WORDS);
        checkCount("fpregs.xmm_space", fp.getXmmSpaceCount(), XMM_WORDS);
        int size = fp.hasXsave() ? Math.max(XsaveLayout.EXTENDED_START, layout.size()) : XsaveLayout.LEGACY_SIZE;
        ByteBuffer a = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        a.putShort(0, (short) fp.getCwd()).putShort(2, (short) fp.getSwd()).putShort(4, (short) fp.getTwd())
                .putShort(6, (short) fp.getFop()).putLong(8, fp.getRip()).putLong(16, fp.getRdp())
                .putInt(24, fp.getMxcsr()).putInt(28, fp.getMxcsrMask());
        for (int i = 0; i < ST_WORDS; i++) {
            a.putInt(32 + 4 * i, fp.getStSpace(i));
        }
        for (int i = 0; i < XMM_WORDS; i++) {
            a.putInt(160 + 4 * i, fp.getXmmSpace(i));
        }
        for (int i = 0; i < Math.min(PADDING_WORDS, fp.getPaddingCount()); i++) {
            a.putInt(PADDING_OFFSET + 4 * i, fp.getPadding(i));
        }
        XsaveLayout used = fp.hasXsave() ? layout : XsaveLayout.LEGACY;
        if (fp.hasXsave()) {
            user_x86_xsave_entry x = fp.getXsave();
            long xstateBv = x.getXstateBv();
            for (XsaveLayout.Component c : layout.components()) {
                switch (c.feature()) {
                    case XsaveLayout.FEATURE_YMM -> writeInts(a, c, "ymmh_space", x.getYmmhSpaceList(), 64);
                    case XsaveLayout.FEATURE_BNDREGS -> writeLongs(a, c, "bndreg_state", x.getBndregStateList(), 8);
                    case XsaveLayout.FEATURE_BNDCSR -> writeLongs(a, c, "bndcsr_state", x.getBndcsrStateList(), 8);
                    case XsaveLayout.FEATURE_OPMASK -> writeLongs(a, c, "opmask_reg", x.getOpmaskRegList(), 8);
                    case XsaveLayout.FEATURE_ZMM_HI256 -> writeLongs(a, c, "zmm_upper", x.getZmmUpperList(), 64);
                    case XsaveLayout.FEATURE_HI16_ZMM -> writeLongs(a, c, "hi16_zmm", x.getHi16ZmmList(), 128);
                    case XsaveLayout.FEATURE_PKRU -> writeInts(a, c, "pkru", x.getPkruList(), 2);
                    default -> {
                        // CRIU has no field for it: the component stays in its init state (zero), and
                        // XSTATE_BV says so, not that zeros are live data (AMX tiles need a permission).
                        xstateBv &= ~(1L << c.feature());
                    }
                }
            }
            a.putLong(XsaveLayout.HEADER_OFFSET, xstateBv);
        }
        return new Registers(user, a.array(), used);
    }

    private static List<Integer> readInts(ByteBuffer a, XsaveLayout.Component c, int count) {
        List<Integer> out = new ArrayList<>(count);
        for (int i = 0; i < count && 4 * (i + 1) <= c.size(); i++) {
            out.add(a.getInt(c.offset() + 4 * i));
        }
        return out;
    }

    private static List<Long> readLongs(ByteBuffer a, XsaveLayout.Component c, int count) {
        List<Long> out = new ArrayList<>(count);
        for (int i = 0; i < count && 8 * (i + 1) <= c.size(); i++) {
            out.add(a.getLong(c.offset() + 8 * i));
        }
        return out;
    }

    private static void writeInts(ByteBuffer a, XsaveLayout.Component c, String field, List<Integer> v, int count) {
        if (v.isEmpty()) {
            return;
        }
        checkCount("xsave." + field, v.size(), count);
        for (int i = 0; i < count && 4 * (i + 1) <= c.size(); i++) {
            a.putInt(c.offset() + 4 * i, v.get(i));
        }
    }

    private static void writeLongs(ByteBuffer a, XsaveLayout.Component c, String field, List<Long> v, int count) {
        if (v.isEmpty()) {
            return;
        }
        checkCount("xsave." + field, v.size(), count);
        for (int i = 0; i < count && 8 * (i + 1) <= c.size(); i++) {
            a.putLong(c.offset() + 8 * i, v.get(i));
        }
    }

    private static void checkCount(String field, int count, int expected) {
        if (count < expected) {
            throw new IllegalArgumentException(field + " has " + count + " words, expected " + expected);
        }
    }

    // ---- VMAs

    /**
     * {@code fileId} is the files.img id of the mapped file, or of the MEMFD entry of a memfd mapping
     * (ignored for anonymous memory); shared anonymous memory carries its shmid (CRIU's).
     */
    public static vma_entry toProto(Vma v, int fileId) {
        boolean byFile = v.isFileBacked() || v.isMemfd();
        long shmid = byFile ? Integer.toUnsignedLong(fileId) : v.shmid();
        vma_entry.Builder b = vma_entry.newBuilder().setStart(v.start()).setEnd(v.end()).setPgoff(v.pgoff())
                .setShmid(shmid).setProt(v.prot()).setFlags(v.flags()).setStatus(v.status()).setFd(-1);
        if (v.madv() != 0) {
            b.setMadv(v.madv());
        }
        if (byFile) {
            boolean writableShared = (v.flags() & Vma.MAP_SHARED) != 0 && (v.prot() & Vma.PROT_WRITE) != 0;
            b.setFdflags(writableShared ? O_RDWR : 0);
        }
        return b.build();
    }

    /** {@code pathOfFileId} resolves shmid for file mappings (and throws for unknown ids); no memfd mapping allowed. */
    public static Vma fromProto(vma_entry p, IntFunction<String> pathOfFileId) {
        return fromProto(p, pathOfFileId, id -> {
            throw new IllegalArgumentException("vma 0x" + Long.toHexString(p.getStart()) + ": a memfd mapping");
        });
    }

    /**
     * {@code pathOfFileId} resolves shmid for file mappings, {@code memfdOfFileId} the shmid of the
     * memfd a MEMFD file entry opens for memfd mappings (both throw for unknown ids).
     */
    public static Vma fromProto(vma_entry p, IntFunction<String> pathOfFileId,
            java.util.function.IntToLongFunction memfdOfFileId) {
        boolean memfd = (p.getStatus() & Vma.VMA_AREA_MEMFD) != 0;
        boolean file = (p.getStatus() & (Vma.VMA_FILE_PRIVATE | Vma.VMA_FILE_SHARED)) != 0;
        if (file && (p.getShmid() < 0 || p.getShmid() > U32_MAX)) {
            throw new IllegalArgumentException("vma 0x" + Long.toHexString(p.getStart()) + ": file id "
                    + Long.toUnsignedString(p.getShmid()) + " out of range");
        }
        if (memfd) {
            long shmid = memfdOfFileId.applyAsLong((int) p.getShmid());
            return new Vma(p.getStart(), p.getEnd(), p.getProt(), p.getFlags(), p.getStatus(), p.getPgoff(), null,
                    p.getMadv(), shmid);
        }
        String path = file ? pathOfFileId.apply((int) p.getShmid()) : null;
        long shmid = (p.getStatus() & Vma.VMA_ANON_SHARED) != 0 ? p.getShmid() : 0;
        return new Vma(p.getStart(), p.getEnd(), p.getProt(), p.getFlags(), p.getStatus(), p.getPgoff(), path,
                p.getMadv(), shmid);
    }

    // ---- pagemap

    /** Writes the count into both fields: the 32-bit compat field (0 if it does not fit, as CRIU 4.2 does) and field 5. */
    public static pagemap_entry toProto(PagemapIov iov) {
        return pagemap_entry.newBuilder()
                .setVaddr(iov.vaddr())
                .setCompatNrPages(iov.nrPages() <= U32_MAX ? (int) iov.nrPages() : 0)
                .setFlags(iov.flags())
                .setNrPages(iov.nrPages())
                .build();
    }

    /** The page count: field 5 when present (CRIU >= 4.2), else the 32-bit field 2. */
    public static long nrPages(pagemap_entry p) {
        return p.hasNrPages() ? p.getNrPages() : Integer.toUnsignedLong(p.getCompatNrPages());
    }

    /**
     * PE_* flags: field 4 when present, else PE_PARENT for legacy in_parent, else PE_PRESENT. Field 4
     * also carries lazymig's own PE_COW (0x10000, {@link PagemapIov#PE_COW}), which crit prints as 0x10000.
     */
    public static int flags(pagemap_entry p) {
        if (p.hasFlags()) {
            return p.getFlags();
        }
        return p.getInParent() ? PagemapIov.PE_PARENT : PagemapIov.PE_PRESENT;
    }

    /** The model pagemap, with pages-file offsets computed from entry order. */
    public static Pagemap pagemapFromProto(ImageDir.PagemapImage image) {
        Pagemap.Builder b = Pagemap.builder(image.head().getPagesId());
        for (pagemap_entry e : image.entries()) {
            b.add(e.getVaddr(), nrPages(e), flags(e));
        }
        return b.build();
    }

    public static List<pagemap_entry> toProto(Pagemap pagemap) {
        List<pagemap_entry> out = new ArrayList<>(pagemap.iovs().size());
        for (PagemapIov iov : pagemap.iovs()) {
            out.add(toProto(iov));
        }
        return out;
    }

    // ---- credentials

    /** Capability sets go out as CRIU's two 32-bit words, low word first. */
    public static creds_entry toProto(Creds c) {
        creds_entry.Builder b = creds_entry.newBuilder().setUid(c.uid()).setGid(c.gid()).setEuid(c.euid())
                .setEgid(c.egid()).setSuid(c.suid()).setSgid(c.sgid()).setFsuid(c.fsuid()).setFsgid(c.fsgid())
                .addCapInh((int) c.capInh()).addCapInh((int) (c.capInh() >>> 32))
                .addCapPrm((int) c.capPrm()).addCapPrm((int) (c.capPrm() >>> 32))
                .addCapEff((int) c.capEff()).addCapEff((int) (c.capEff() >>> 32))
                .addCapBnd((int) c.capBnd()).addCapBnd((int) (c.capBnd() >>> 32))
                .addCapAmb((int) c.capAmb()).addCapAmb((int) (c.capAmb() >>> 32))
                .setSecbits(c.secbits()).addAllGroups(c.groups()).setNoNewPrivs(c.noNewPrivs() ? 1 : 0);
        return b.build();
    }

    public static Creds fromProto(creds_entry p) {
        return new Creds(p.getUid(), p.getGid(), p.getEuid(), p.getEgid(), p.getSuid(), p.getSgid(), p.getFsuid(),
                p.getFsgid(), caps("cap_inh", p.getCapInhList()), caps("cap_prm", p.getCapPrmList()),
                caps("cap_eff", p.getCapEffList()), caps("cap_bnd", p.getCapBndList()), caps("cap_amb", p.getCapAmbList()),
                p.getSecbits(), p.getGroupsList(), p.getNoNewPrivs() != 0);
    }

    private static long caps(String field, List<Integer> words) {
        if (words.size() > 2) {
            throw new IllegalArgumentException("creds." + field + " has " + words.size() + " words, at most 2");
        }
        long low = words.isEmpty() ? 0 : Integer.toUnsignedLong(words.get(0));
        long high = words.size() < 2 ? 0 : Integer.toUnsignedLong(words.get(1));
        return high << 32 | low;
    }

    // ---- signals and limits

    /** CRIU's positional list: one entry per signal 1..64 except SIGKILL and SIGSTOP. */
    public static List<sa_entry> sigactionsToProto(ProcessState task) {
        List<sa_entry> out = new ArrayList<>();
        for (int signo = 1; signo <= SigAction.SIGMAX; signo++) {
            if (SigAction.isDumpable(signo)) {
                SigAction a = task.action(signo);
                out.add(sa_entry.newBuilder().setSigaction(a.handler()).setFlags(a.flags())
                        .setRestorer(a.restorer()).setMask(a.mask()).setCompatSigaction(false).build());
            }
        }
        return out;
    }

    public static List<SigAction> sigactionsFromProto(List<sa_entry> entries) {
        List<SigAction> out = new ArrayList<>();
        int signo = 0;
        for (sa_entry e : entries) {
            do {
                signo++;
            } while (signo <= SigAction.SIGMAX && !SigAction.isDumpable(signo));
            if (signo > SigAction.SIGMAX) {
                throw new IllegalArgumentException(entries.size() + " signal actions, at most "
                        + (SigAction.SIGMAX - 2) + " (signals 1.." + SigAction.SIGMAX + " but SIGKILL, SIGSTOP)");
            }
            if (e.getCompatSigaction()) {
                throw new IllegalArgumentException("signal " + signo + ": compat (32-bit) sigaction is not supported");
            }
            out.add(new SigAction(signo, e.getSigaction(), e.getFlags(), e.getRestorer(), e.getMask()));
        }
        return out;
    }

    public static List<rlimit_entry> rlimitsToProto(List<Rlimit> rlimits) {
        List<rlimit_entry> out = new ArrayList<>();
        for (Rlimit r : rlimits) {
            out.add(rlimit_entry.newBuilder().setCur(r.cur()).setMax(r.max()).build());
        }
        return out;
    }

    public static List<Rlimit> rlimitsFromProto(List<rlimit_entry> entries) {
        List<Rlimit> out = new ArrayList<>();
        for (rlimit_entry e : entries) {
            out.add(new Rlimit(e.getCur(), e.getMax()));
        }
        return out;
    }
}
