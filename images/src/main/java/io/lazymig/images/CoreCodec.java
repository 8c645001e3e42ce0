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
import java.util.ArrayList;
import java.util.List;

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

    static core_entry encode(ProcessState p, ThreadState t) {
        thread_core_entry.Builder th = thread_core_entry.newBuilder().setFutexRla(t.robustList().head())
                .setFutexRlaLen(t.robustList().length()).setBlkSigset(t.sigmask()).setComm(t.comm())
                .setSignalsP(signalQueue(t.pending()))
                .setCreds(ProtoConvert.toProto(p.creds()))
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
                .setFpregs(ProtoConvert.fpregsToProto(t.registers()));
        for (int i = 0; i < TLS_SLOTS; i++) {
            // Empty GDT TLS slots, as CRIU writes them for a 64-bit task that never used set_thread_area.
            ti.addTls(user_desc_t.newBuilder().setEntryNumber(TLS_FIRST + i).setBaseAddr(0).setLimit(0)
                    .setSeg32Bit(false).setContentsH(false).setContentsL(false).setReadExecOnly(true)
                    .setLimitInPages(false).setSegNotPresent(true).setUsable(false));
        }
        core_entry.Builder core = core_entry.newBuilder().setMtype(core_entry.march.X86_64).setThreadInfo(ti)
                .setThreadCore(th);
        if (t.tid() == p.pid()) {
            core.setTc(taskCore(p, t));
        }
        return core.build();
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
