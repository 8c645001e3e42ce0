package io.lazymig.images;

import com.google.protobuf.ByteString;
import io.lazymig.images.proto.core_entry;
import io.lazymig.images.proto.rseq_entry;
import io.lazymig.images.proto.siginfo_entry;
import io.lazymig.images.proto.signal_queue_entry;
import io.lazymig.images.proto.task_core_entry;
import io.lazymig.images.proto.task_rlimits_entry;
import io.lazymig.images.proto.thread_core_entry;
import io.lazymig.images.proto.thread_info_x86;
import io.lazymig.images.proto.thread_sas_entry;
import io.lazymig.images.proto.user_desc_t;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One thread ↔ its core-TID.img entry. Every thread's entry has thread_info (registers, xstate,
 * clear_child_tid) and thread_core (mask, rseq, robust list, name, creds, sigaltstack, scheduling,
 * private pending signals); the leader's also has the process-wide tc part (comm, personality,
 * rlimits, signal actions, timers, shared pending signals), as CRIU writes it.
 */
final class CoreCodec {
    /** task_state: alive (compel's value). */
    static final int TASK_ALIVE = 1;
    /** task_state: dead, a zombie (compel's value, as CRIU writes it for one). */
    static final int TASK_DEAD = 2;
    /** GDT TLS slots CRIU always writes (GDT_ENTRY_TLS_MIN..MAX on x86_64). */
    static final int TLS_FIRST = 12;
    static final int TLS_SLOTS = 3;

    private CoreCodec() {
    }

    /**
     * What the threads of one process share in their core images, encoded once for all of them:
     * the creds (the process's), and each distinct XSAVE area's fpregs field. Idle threads of one
     * program mostly hold the same area (99 of the 100 threads parked on a condvar in the
     * benchmark), and encoding it — ~600 repeated fields — was most of a core image's cost: 109
     * images took 90-120 ms of the downtime on a JVM not yet warm. Same bytes, same entry: the
     * images are what they were.
     */
    static final class Shared {
        private final ProcessState process;
        private io.lazymig.images.proto.creds_entry creds;
        /** Each distinct area's fpregs as thread_info's field 3, encoded (tag, length, entry). */
        private final Map<FpregsKey, byte[]> fpregsFields = new HashMap<>();

        Shared(ProcessState process) {
            this.process = process;
        }

        private io.lazymig.images.proto.creds_entry creds() {
            if (creds == null) {
                creds = ProtoConvert.toProto(process.creds());
            }
            return creds;
        }

        private byte[] fpregsField(Registers regs) {
            FpregsKey key = new FpregsKey(ByteBuffer.wrap(regs.xstate()), regs.layout());
            byte[] field = fpregsFields.get(key);
            if (field == null) {
                field = lengthDelimited(THREAD_INFO_FPREGS, ProtoConvert.fpregsToProto(regs).toByteArray());
                fpregsFields.put(key, field);
            }
            return field;
        }
    }

    /** Field numbers of core_entry and thread_info_x86 the spliced encoding ({@link #encodeBytes}) writes itself. */
    private static final int CORE_THREAD_INFO = core_entry.THREAD_INFO_FIELD_NUMBER;
    private static final int THREAD_INFO_FPREGS = thread_info_x86.FPREGS_FIELD_NUMBER;

    /**
     * The bytes of {@link #encode}'s entry, exactly (a test holds them equal), built so that the
     * fpregs entry — ~600 repeated fields, most of a core image's bytes and of its encoding time —
     * is encoded once per distinct area for all the threads of {@code shared}'s process. A message
     * is its fields in number order, each message field as tag, length, bytes: core_entry is
     * mtype (1), thread_info (2), then tc (3) and thread_core (5); thread_info is clear_tid_addr (1),
     * gpregs (2), fpregs (3), then tls (4). Each run of fields is encoded by protobuf (buildPartial:
     * the required fields missing from a run are in another), fpregs' field comes from the cache.
     */
    static byte[] encodeBytes(ProcessState p, ThreadState t, Shared shared) {
        core_entry full = encode(p, t, shared, false);
        thread_info_x86 ti = full.getThreadInfo();
        byte[] tiHead = thread_info_x86.newBuilder().setClearTidAddr(ti.getClearTidAddr()).setGpregs(ti.getGpregs())
                .buildPartial().toByteArray();
        byte[] fp = shared.fpregsField(t.registers());
        byte[] tiBody = concat(tiHead, fp, EMPTY_TLS_FIELDS);
        byte[] head = core_entry.newBuilder().setMtype(full.getMtype()).build().toByteArray();
        byte[] tail = full.toBuilder().clearMtype().clearThreadInfo().buildPartial().toByteArray();
        return concat(head, lengthDelimited(CORE_THREAD_INFO, tiBody), tail);
    }

    /** The fewest threads whose core images {@link #encodeAll} encodes on two threads. */
    static final int PARALLEL_FROM = 32;

    /**
     * {@link #encodeBytes} of every thread of {@code p}, in order: those {@link CoreImagesAhead}
     * encodes when it was started for these objects, else here. From {@link #PARALLEL_FROM}
     * threads the second half is encoded on a helper thread meanwhile (each half with its own
     * {@link Shared}): inside migrate's downtime the other CPU is idle then, waiting for these images.
     */
    static List<byte[]> encodeAll(ProcessState p, List<ThreadState> threads) {
        List<byte[]> ahead = CoreImagesAhead.take(p, threads);
        if (ahead != null) {
            return ahead;
        }
        int n = threads.size();
        if (n < PARALLEL_FROM) {
            return encodeRange(p, threads);
        }
        java.util.concurrent.FutureTask<List<byte[]>> second = new java.util.concurrent.FutureTask<>(
                () -> encodeRange(p, threads.subList(n / 2, n)));
        Thread helper = new Thread(second, "core-images");
        helper.setDaemon(true);
        helper.start();
        List<byte[]> out = new ArrayList<>(n);
        out.addAll(encodeRange(p, threads.subList(0, n / 2)));
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    out.addAll(second.get());
                    return out;
                } catch (InterruptedException e) {
                    interrupted = true; // the helper finishes on its own; its result is needed
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static List<byte[]> encodeRange(ProcessState p, List<ThreadState> threads) {
        Shared shared = new Shared(p);
        List<byte[]> out = new ArrayList<>(threads.size());
        for (ThreadState t : threads) {
            out.add(encodeBytes(p, t, shared));
        }
        return out;
    }

    /** Field {@code number} holding {@code bytes} (a message): its tag, length and the bytes. */
    private static byte[] lengthDelimited(int number, byte[] bytes) {
        int tag = com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED | (number << 3);
        byte[] out = new byte[com.google.protobuf.CodedOutputStream.computeUInt32SizeNoTag(tag)
                + com.google.protobuf.CodedOutputStream.computeUInt32SizeNoTag(bytes.length) + bytes.length];
        com.google.protobuf.CodedOutputStream o = com.google.protobuf.CodedOutputStream.newInstance(out);
        try {
            o.writeUInt32NoTag(tag);
            o.writeUInt32NoTag(bytes.length);
            o.writeRawBytes(bytes);
            o.checkNoSpaceLeft();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("encoding into an array of its exact size failed", e);
        }
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b, byte[] c) {
        byte[] out = new byte[a.length + b.length + c.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        System.arraycopy(c, 0, out, a.length + b.length, c.length);
        return out;
    }

    /**
     * An XSAVE area (compared by content: a ByteBuffer's equals) and its layout. Its hash covers the
     * legacy region's words and the size only: a byte-by-byte hash of the whole area runs
     * interpreted on a cold JVM, and areas that differ only beyond it just compare once more.
     */
    private record FpregsKey(ByteBuffer area, XsaveLayout layout) {
        @Override
        public int hashCode() {
            int h = area.remaining();
            int end = Math.min(area.limit(), XsaveLayout.LEGACY_SIZE) - 7;
            for (int i = 0; i < end; i += 8) {
                h = 31 * h + Long.hashCode(area.getLong(i));
            }
            return h;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof FpregsKey k && area.equals(k.area) && layout.equals(k.layout);
        }
    }

    /** Empty GDT TLS slots, as CRIU writes them for a 64-bit task that never used set_thread_area (every thread's). */
    private static final List<user_desc_t> EMPTY_TLS = emptyTls();

    private static List<user_desc_t> emptyTls() {
        List<user_desc_t> out = new ArrayList<>(TLS_SLOTS);
        for (int i = 0; i < TLS_SLOTS; i++) {
            out.add(user_desc_t.newBuilder().setEntryNumber(TLS_FIRST + i).setBaseAddr(0).setLimit(0)
                    .setSeg32Bit(false).setContentsH(false).setContentsL(false).setReadExecOnly(true)
                    .setLimitInPages(false).setSegNotPresent(true).setUsable(false).build());
        }
        return List.copyOf(out);
    }

    /** {@link #EMPTY_TLS} as thread_info's fields 4, encoded. */
    private static final byte[] EMPTY_TLS_FIELDS = thread_info_x86.newBuilder().addAllTls(EMPTY_TLS).buildPartial()
            .toByteArray();

    static core_entry encode(ProcessState p, ThreadState t) {
        return encode(p, t, new Shared(p), true);
    }

    /** Without {@code withFpregs}, the entry lacks its fpregs (built partial): {@link #encodeBytes} adds them. */
    private static core_entry encode(ProcessState p, ThreadState t, Shared shared, boolean withFpregs) {
        thread_core_entry.Builder th = thread_core_entry.newBuilder().setFutexRla(t.robustList().head())
                .setFutexRlaLen(t.robustList().length()).setBlkSigset(t.sigmask()).setComm(t.comm())
                .setSignalsP(signalQueue(t.pending()))
                .setCreds(shared.creds())
                .setSas(thread_sas_entry.newBuilder().setSsSp(t.altStack().sp()).setSsSize(t.altStack().size())
                        .setSsFlags(t.altStack().flags()))
                .setSchedPolicy(t.sched().policy()).setSchedNice(t.sched().nice());
        if (t.sched().isRealTime()) {
            th.setSchedPrio(t.sched().priority()); // CRIU writes the priority only for SCHED_FIFO and SCHED_RR
        }
        if (t.pdeathSig() != 0) {
            th.setPdeathSig(t.pdeathSig()); // CRIU writes it only when set
        }
        if (t.rseq().isRegistered()) {
            th.setRseqEntry(rseq_entry.newBuilder().setRseqAbiPointer(t.rseq().abiPointer())
                    .setRseqAbiSize(t.rseq().abiSize()).setSignature(t.rseq().signature())
                    .setRseqCsPointer(t.rseq().csPointer()));
        }
        thread_info_x86.Builder ti = thread_info_x86.newBuilder().setClearTidAddr(t.clearTidAddress())
                .setGpregs(ProtoConvert.toProto(t.registers().user()))
                .addAllTls(EMPTY_TLS);
        if (withFpregs) {
            ti.setFpregs(ProtoConvert.fpregsToProto(t.registers()));
        }
        core_entry.Builder core = core_entry.newBuilder().setMtype(core_entry.march.X86_64)
                .setThreadInfo(withFpregs ? ti.build() : ti.buildPartial()).setThreadCore(th);
        if (t.tid() == p.pid()) {
            core.setTc(taskCore(p, t));
        }
        return withFpregs ? core.build() : core.buildPartial();
    }

    private static task_core_entry taskCore(ProcessState p, ThreadState leader) {
        return task_core_entry.newBuilder().setTaskState(TASK_ALIVE).setExitCode(0)
                .setPersonality(p.personality()).setFlags(0).setBlkSigset(leader.sigmask()).setComm(p.comm())
                .setRlimits(task_rlimits_entry.newBuilder().addAllRlimits(ProtoConvert.rlimitsToProto(p.rlimits())))
                .addAllSigactions(ProtoConvert.sigactionsToProto(p))
                // Always written (CRIU looks for legacy timer images when tc has none).
                .setTimers(TimersCodec.encode(p.timers()))
                .setSignalsS(signalQueue(p.sharedPending()))
                .build();
    }

    /** A zombie's core: its tc alone, dead with its wait status (CRIU's dump_one_zombie). */
    static core_entry encodeZombie(Zombie z) {
        return core_entry.newBuilder().setMtype(core_entry.march.X86_64)
                .setTc(task_core_entry.newBuilder().setTaskState(TASK_DEAD).setExitCode(z.exitStatus())
                        .setPersonality(0).setFlags(0).setBlkSigset(0).setComm(z.comm()))
                .build();
    }

    /** Whether a process's core says it is a zombie. */
    static boolean isZombie(core_entry core) {
        return core.hasTc() && core.getTc().getTaskState() == TASK_DEAD;
    }

    /** Checks the parts every thread's entry needs (and tc for the leader's). */
    static void check(core_entry core, boolean leader) {
        if (core.getMtype() != core_entry.march.X86_64) {
            throw new IllegalArgumentException("architecture " + core.getMtype() + ", only X86_64 is supported");
        }
        if (!core.hasThreadInfo() || !core.hasThreadCore() || leader && !core.hasTc()) {
            throw new IllegalArgumentException(leader ? "needs thread_info, tc and thread_core"
                    : "needs thread_info and thread_core");
        }
    }

    /**
     * The thread of {@code core} (checked); {@code processComm} names a thread whose entry has no
     * name of its own, and the leader's tc mask serves when thread_core has none (old images).
     */
    static ThreadState decodeThread(int tid, core_entry core, String processComm, XsaveLayout layoutForCriuImages) {
        thread_core_entry th = core.getThreadCore();
        thread_info_x86 ti = core.getThreadInfo();
        UserRegs user = ProtoConvert.fromProto(ti.getGpregs());
        if (!ti.getFpregs().hasLazymigXsaveArea() && layoutForCriuImages == null) {
            throw new IllegalArgumentException("no lazymig xsave area (an image made by CRIU): rebuilding the XSAVE"
                    + " area from CRIU's fields needs this CPU's layout, and none was given");
        }
        Registers registers = ProtoConvert.registersFromProto(user, ti.getFpregs(), layoutForCriuImages);
        long sigmask = th.hasBlkSigset() ? th.getBlkSigset() : core.hasTc() ? core.getTc().getBlkSigset() : 0;
        Rseq rseq = th.hasRseqEntry() ? new Rseq(th.getRseqEntry().getRseqAbiPointer(), th.getRseqEntry().getRseqAbiSize(),
                th.getRseqEntry().getSignature(), th.getRseqEntry().getRseqCsPointer()) : Rseq.NONE;
        SigAltStack stack = th.hasSas() ? new SigAltStack(th.getSas().getSsSp(), th.getSas().getSsSize(),
                th.getSas().getSsFlags()) : SigAltStack.DISABLED;
        Sched sched = new Sched(th.hasSchedPolicy() ? th.getSchedPolicy() : Sched.SCHED_OTHER,
                th.hasSchedPrio() ? th.getSchedPrio() : 0, th.hasSchedNice() ? th.getSchedNice() : 0);
        return new ThreadState(tid, registers, sigmask, rseq, new RobustList(th.getFutexRla(), th.getFutexRlaLen()),
                ti.getClearTidAddr(), th.hasComm() ? th.getComm() : processComm, stack, sched,
                signals(th.getSignalsP(), "signals_p"), th.getPdeathSig());
    }

    /** The process-wide pending signals of the leader's tc (none when absent). */
    static List<SigInfo> sharedPending(core_entry leader) {
        return signals(leader.getTc().getSignalsS(), "signals_s");
    }

    private static signal_queue_entry signalQueue(List<SigInfo> signals) {
        signal_queue_entry.Builder q = signal_queue_entry.newBuilder();
        for (SigInfo s : signals) {
            q.addSignals(siginfo_entry.newBuilder().setSiginfo(ByteString.copyFrom(s.raw())));
        }
        return q.build();
    }

    private static List<SigInfo> signals(signal_queue_entry q, String field) {
        List<SigInfo> out = new ArrayList<>();
        for (int i = 0; i < q.getSignalsCount(); i++) {
            try {
                out.add(new SigInfo(q.getSignals(i).getSiginfo().toByteArray()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(field + " " + i + ": " + e.getMessage(), e);
            }
        }
        return out;
    }
}
