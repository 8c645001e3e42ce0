#!/bin/bash
# criu-lazy.sh — the lazy migrations of bench.sh done by real CRIU 4.1.1 (Debian trixie's, through
# /work/shared/tools/criu-reference) between the same two namespace hosts, so that the benchmark
# shows CRIU side by side with lazymig. Sourced by bench.sh after it/e2e/lib.sh (it uses on,
# wait_on, rc_of, fail, log, $HD, $E2E_SRC, $E2E_DST, $E2E_NET, $E2E_LOGS). Run alone,
# `bash it/bench/criu-lazy.sh selftest` brings the hosts up and measures a few migrations.
#
# CRIU's flow, per migration NAME, everything under $HD/criu-NAME on both hosts:
#   B: the workload, under setsid (CRIU refuses a task whose session leader is outside its pid ns)
#   B: criu dump --lazy-pages --address ADDR-B --port P   (stays, the task frozen, serving pages)
#   B -> A: img/, the images without the lazy pages (A's out.txt: an empty one, as bench.sh's
#           migrate makes for lazymig; CRIU reopens files by path: "Can't open file ... out.txt")
#   A: criu lazy-pages --page-server --address ADDR-B --port P -D img   (exits once every page is in)
#   A: criu restore --lazy-pages -d -D img   (the task keeps its pid: A is another pid namespace)
#
# criu_migrate NAME "WORKLOAD CMDLINE" (prewarm is the caller's; CRIU_BEFORE_DUMP, a command, runs
# on the driver just before the dump) sets:
#   CRIU_SRC_PID  the workload's pid on B (it stays there, frozen, until criu_finish)
#   CRIU_PID      the restored pid as seen on A (restore's --pidfile; CRIU keeps the pid)
#   T_DUMP_START  ms: when criu dump was started on B (dump.start, written right before it)
#   T_FREEZE      ms: when dump seized the task (T_DUMP_START + its log's "Seized task" offset)
#   T_RESTORE_START  ms: when restore was started on A (CRIU's background pass starts ~25 ms later)
#   T_RESTORED    ms: when restore -d had returned on A (the task already runs by then)
# criu_finish NAME [nowait] waits for the lazy-pages daemon to exit (every page in; not with
#   nowait) and sets T_LAST_PAGE (ms, its exit; empty with nowait), CRIU_XFER_MS (T_LAST_PAGE -
#   T_RESTORE_START: restore plus the whole transfer) and CRIU_FAULTS (the faults the daemon
#   served, its "#PF" lines: CRIU_V=4 only, else empty); then kills the restored task, the frozen
#   one and CRIU on both hosts, and copies the logs and out.txt to $E2E_LOGS/criu-NAME/{b,a}/.
# criu_result_line NAME prints bench-touch's JSON line on A (after kill -USR1 $CRIU_PID there).
# criu_fault_service NAME (after criu_finish, CRIU_V=4) prints the daemon's own time per fault.
# criu_downtime NAME INTERVAL-MS sets CRIU_DOWNTIME as bench.sh counts it (checksum-loop's last t
#   on B to its first t on A, minus one interval), and CRIU_T_BEFORE/CRIU_T_AFTER (those two t in
#   criu_now's clock, to place them against T_FREEZE); fails if the two lines' checksums differ.
# All times in ms are CLOCK_REALTIME (the hosts share the kernel's clock).
# Files per host in $HD/criu-NAME: out.txt, img/, dump.log, lazy.log, restore.log (CRIU's logs,
# -v$CRIU_V), dump.out, lazy.out, restore.out (stdout+stderr), *.status (FIFOs for --status-fd),
# *.start, *.rc, *.end (start time, exit status and time), restored.pid.

set -u
# criu-reference: LAZYMIG_CRIU_REFERENCE, else beside the project (../shared/tools), as the ITs look.
if [ -z "${CRIU_REF:-}" ]; then
    CRIU_REF=${LAZYMIG_CRIU_REFERENCE:-$E2E_ROOT/../shared/tools/criu-reference}
    [ -x "$CRIU_REF" ] || CRIU_REF=/work/shared/tools/criu-reference
fi
CRIU_PORT=${CRIU_PORT:-2737}
CRIU_V=${CRIU_V:-3}   # CRIU's log level: 3 logs a line per page request; 4 (every page) counts the faults

# criu_available: 0 when criu-reference runs CRIU 4.1 here (bench.sh then adds CRIU's column).
criu_available() {
    [ -x "$CRIU_REF" ] && "$CRIU_REF" criu --version 2>/dev/null | grep -q '^Version: 4\.1'
}

# criu_setup: checks CRIU and picks CRIU_BIN, the criu command the hosts run.
# criu-reference criu sets up its mounts and fs.pipe-max-size >= 4 MiB (remote lazy pages need it)
# on every call, ~20 ms of shell: once here, then its criu is run directly (CRIU_BIN overrides).
criu_setup() {
    local c=${CRIU_REFERENCE_DIR:-/var/tmp/criu-reference}/chroot
    "$CRIU_REF" criu --version 2>/dev/null | grep -q '^Version: 4\.1' || fail "no CRIU 4.1 ($CRIU_REF setup)"
    [ "$(cat /proc/sys/fs/pipe-max-size)" -ge 4194304 ] || fail "fs.pipe-max-size < 4 MiB: CRIU's remote lazy pages fail"
    if [ -z "${CRIU_BIN:-}" ]; then
        # CRIU_FAULT=130 as criu-reference sets it: without it CRIU 4.1.1 hangs or fails where
        # ptrace breakpoints never fire (see criu-reference's header)
        CRIU_BIN="env CRIU_FAULT=${CRIU_FAULT:-130} $c/lib64/ld-linux-x86-64.so.2 --library-path $c/usr/lib/x86_64-linux-gnu:$c/lib/x86_64-linux-gnu $c/usr/sbin/criu"
        $CRIU_BIN --version 2>/dev/null | grep -q '^Version: 4\.1' || CRIU_BIN="$CRIU_REF criu"
    fi
}

# criu_now: the time in ms (CLOCK_REALTIME, no fork).
criu_now() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# criu_mono_offset: CLOCK_REALTIME minus CLOCK_MONOTONIC in ms (checksum-loop's t is monotonic).
criu_mono_offset() { python3 -c 'import time; print(round((time.time() - time.monotonic()) * 1000))'; }

# criu_start HOST DIR STEP SECONDS "CRIU ARGS": runs criu in the background on HOST in DIR, logs
# to STEP.log/STEP.out, its start time (ms) to STEP.start, STEP.rc and STEP.end when it exits; waits up to SECONDS for its
# --status-fd byte (a FIFO, no polling). 1 if criu ended or timed out first.
criu_start() {
    on "$1" "cd $2 && rm -f $3.status $3.rc $3.end && mkfifo $3.status
        setsid sh -c 'date +%s%3N > $3.start; $CRIU_BIN $5 -v$CRIU_V -o $2/$3.log --status-fd 3 3>$3.status; echo \$? > $3.rc; date +%s%3N > $3.end' \
            </dev/null >$3.out 2>&1 &
        echo \$! >> $HD/pids
        [ \"\$(timeout $4 head -c1 $3.status | wc -c)\" = 1 ]"
}

# criu_errors HOST DIR STEP: STEP's own output and the last error lines of its log, on one line.
criu_errors() {
    on "$1" "cat $2/$3.out 2>/dev/null; grep -i 'error' $2/$3.log 2>/dev/null | tail -n3" | tr '\n' ' '
}

# criu_copy NAME: img/ from B's view to A's (tar between the two host prefixes).
criu_copy() {
    local d=criu-$1
    eval "$E2E_SRC tar -C $HD -c $d/img" </dev/null | eval "$E2E_DST tar -C $HD -x" \
        || fail "$1: cannot copy the images from B to A"
}

# criu_log_s HOST FILE PATTERN: the offset in s (CRIU's "(SS.UUUUUU)" prefix) of PATTERN's first line.
criu_log_s() {
    on "$1" "grep -m1 '$3' $2 | sed -n 's/^(\\([0-9.]*\\)).*/\\1/p'"
}

# criu_migrate NAME "WORKLOAD CMDLINE": the workload on B, migrated to A by CRIU's lazy migration.
criu_migrate() {
    local n=$1 w=$2 d=$HD/criu-$1 s
    [ -n "${CRIU_BIN:-}" ] || criu_setup
    on "$E2E_SRC" "rm -rf $d && mkdir -p $d/img && : > $d/out.txt"
    on "$E2E_DST" "rm -rf $d && mkdir -p $d && : > $d/out.txt"
    CRIU_SRC_PID=$(on "$E2E_SRC" "cd $d && setsid $w </dev/null >>$d/out.txt 2>&1 & echo \$!")
    on "$E2E_SRC" "echo $CRIU_SRC_PID >> $HD/pids"
    wait_on "$E2E_SRC" 120 "grep -q '^ready\|^pid ' $d/out.txt" || fail "$n: workload did not start"
    sleep 0.5
    if [ -n "${CRIU_BEFORE_DUMP:-}" ]; then $CRIU_BEFORE_DUMP; fi  # e.g. bench.sh's release_hold
    criu_start "$E2E_SRC" $d dump 120 "dump -t $CRIU_SRC_PID -D $d/img --lazy-pages --address $E2E_NET.1 --port $CRIU_PORT" \
        || fail "$n: dump: $(criu_errors "$E2E_SRC" $d dump)"
    s=$(criu_log_s "$E2E_SRC" $d/dump.log 'Seized task')
    T_DUMP_START=$(on "$E2E_SRC" "cat $d/dump.start")
    T_FREEZE=$((T_DUMP_START + $(python3 -c "print(round(${s:-0} * 1000))")))
    criu_copy "$n"
    criu_start "$E2E_DST" $d lazy 60 "lazy-pages --page-server --address $E2E_NET.1 --port $CRIU_PORT -D $d/img" \
        || fail "$n: lazy-pages: $(criu_errors "$E2E_DST" $d lazy)"
    T_RESTORE_START=$(criu_now)
    on "$E2E_DST" "cd $d && $CRIU_BIN restore -D $d/img --lazy-pages -d --pidfile $d/restored.pid -v$CRIU_V -o $d/restore.log \
        </dev/null >$d/restore.out 2>&1" || fail "$n: restore: $(criu_errors "$E2E_DST" $d restore)"
    T_RESTORED=$(criu_now)
    CRIU_PID=$(on "$E2E_DST" "cat $d/restored.pid")
    on "$E2E_DST" "echo $CRIU_PID >> $HD/pids"
}

# criu_finish NAME [nowait]: waits for the lazy-pages daemon (unless nowait), then stops both sides.
criu_finish() {
    local d=$HD/criu-$1 rc
    T_LAST_PAGE= CRIU_XFER_MS= CRIU_FAULTS=
    if [ -z "${2:-}" ]; then
        wait_on "$E2E_DST" 300 "[ -s $d/lazy.end ]" || fail "$1: CRIU's lazy-pages daemon did not finish"
        rc=$(rc_of "$E2E_DST" $d/lazy.rc)
        [ "$rc" = 0 ] || fail "$1: CRIU's lazy-pages daemon exited $rc: $(criu_errors "$E2E_DST" $d lazy)"
        T_LAST_PAGE=$(on "$E2E_DST" "cat $d/lazy.end")
        CRIU_XFER_MS=$((T_LAST_PAGE - T_RESTORE_START))
        [ "$CRIU_V" -ge 4 ] && CRIU_FAULTS=$(on "$E2E_DST" "grep -c '#PF at' $d/lazy.log")
    fi
    on "$E2E_DST" "kill -9 $CRIU_PID 2>/dev/null; pkill -9 -f -- '-D $d/img'; true"
    on "$E2E_SRC" "kill -9 $CRIU_SRC_PID 2>/dev/null; pkill -9 -f -- '-D $d/img'; true"
    wait_on "$E2E_SRC" 30 "! pgrep -f -- '-D $d/img' >/dev/null" || fail "$1: CRIU's dump on B did not end"
    on "$E2E_SRC" "mkdir -p $E2E_LOGS/criu-$1/b && cp $d/*.log $d/*.out $d/out.txt $E2E_LOGS/criu-$1/b/ 2>/dev/null; true"
    on "$E2E_DST" "mkdir -p $E2E_LOGS/criu-$1/a && cp $d/*.log $d/*.out $d/out.txt $E2E_LOGS/criu-$1/a/ 2>/dev/null; true"
}

# criu_mbps MIB: MIB MiB over CRIU_XFER_MS, in MB/s (the background figure; restore's ~25 ms included).
criu_mbps() { python3 -c "print(round($1 * 1048576 / 1e3 / $CRIU_XFER_MS))"; }

# criu_fault_service NAME: after criu_finish, at CRIU_V=4: the daemon's own time per fault, its log's
# "#PF at X" to the first uffd_copy (or zero page) covering X, as JSON {"faults", "p50_us", "p99_us"}
# (null below -v4). A fault's page may wait behind one background chunk in flight (stop-and-wait).
criu_fault_service() {
    python3 - "$E2E_LOGS/criu-$1/a/lazy.log" <<'PY'
import json, re, sys
pend, took = {}, []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\((\d+\.\d+)\) uffd: \S+ (#PF at|uffd_copy:|zero page at) 0x([0-9a-f]+)(?:/(\d+))?", line)
    if not m:
        continue
    t, what, a = float(m.group(1)), m.group(2), int(m.group(3), 16)
    if what == "#PF at":
        pend.setdefault(a & ~4095, t)
        continue
    n = int(m.group(4) or 4096)
    for x in [x for x in pend if a <= x < a + n]:
        took.append((t - pend.pop(x)) * 1e6)
took.sort()
print(json.dumps({"faults": len(took), "p50_us": round(took[len(took) // 2], 1), "p99_us": round(took[len(took) * 99 // 100], 1)}
                 if took else None))
PY
}

# criu_result_line NAME: bench-touch's JSON line on A.
criu_result_line() {
    wait_on "$E2E_DST" 300 "grep -q '^{' $HD/criu-$1/out.txt" || fail "criu-$1: no result from bench-touch"
    on "$E2E_DST" "grep '^{' $HD/criu-$1/out.txt | head -n1"
}

# criu_downtime NAME INTERVAL-MS: sets CRIU_DOWNTIME, CRIU_T_BEFORE and CRIU_T_AFTER.
criu_downtime() {
    local d=$HD/criu-$1 before after off
    wait_on "$E2E_DST" 60 "grep -q '^pid ' $d/out.txt" || fail "criu-$1: no line after restore"
    before=$(on "$E2E_SRC" "grep '^pid ' $d/out.txt | tail -n1 | awk '{print \$6, \$8}'")
    after=$(on "$E2E_DST" "grep '^pid ' $d/out.txt | head -n1 | awk '{print \$6, \$8}'")
    [ -n "${before#* }" ] && [ -n "${after#* }" ] || fail "criu-$1: no t in checksum-loop's lines"
    [ "${before% *}" = "${after% *}" ] || fail "criu-$1: the checksum changed in CRIU's migration: ${before% *} on B, ${after% *} on A"
    before=${before#* } after=${after#* }
    off=$(criu_mono_offset)
    CRIU_DOWNTIME=$((after - before - $2))
    CRIU_T_BEFORE=$((before + off))
    CRIU_T_AFTER=$((after + off))
}

# --- selftest ----------------------------------------------------------------------------------

# criu_selftest: checksum-loop 64 MiB and bench-touch 64 MiB random (then each $CRIU_SELFTEST_MIB).
# bench-touch's migration logs at -v4, as bench.sh's fault run, for the fault count and times.
criu_selftest() {
    local mib r
    e2e_lock bash "${BASH_SOURCE[0]}" selftest
    e2e_close_fds
    e2e_config
    HD=$E2E_HOST_DIR
    [ -x "$WORKLOADS/bench-touch" ] || fail "workloads not built (make)"
    criu_setup
    trap 'hosts_down; exit' EXIT
    trap 'exit 130' INT TERM
    hosts_up || fail "cannot set up the hosts"
    for mib in 64 ${CRIU_SELFTEST_MIB:-}; do
        log "CRIU: checksum-loop-static $mib 100"
        prewarm "$mib"
        criu_migrate down "$WORKLOADS/checksum-loop-static $mib 100"
        criu_downtime down 100
        criu_finish down
        log "CRIU $mib MiB checksum-loop: downtime $CRIU_DOWNTIME ms (bench.sh's count); after the last line on B:" \
            "freeze +$((T_FREEZE - CRIU_T_BEFORE)), first line on A +$((CRIU_T_AFTER - CRIU_T_BEFORE))," \
            "restore -d returned +$((T_RESTORED - CRIU_T_BEFORE)), last page +$((T_LAST_PAGE - CRIU_T_BEFORE)) ms"
        log "CRIU $mib MiB checksum-loop: total $((T_LAST_PAGE - T_FREEZE)) ms freeze -> last page," \
            "restore start -> last page $CRIU_XFER_MS ms ($(criu_mbps "$mib") MB/s), faults served: ${CRIU_FAULTS:-? (CRIU_V=4 counts)}"
        log "CRIU: bench-touch $mib random"
        prewarm "$mib"
        CRIU_V=4 criu_migrate touch "$WORKLOADS/bench-touch $mib random"  # as bench.sh's fault run: -v4 times each fault
        on "$E2E_DST" "kill -USR1 $CRIU_PID"
        r=$(criu_result_line touch)
        CRIU_V=4 criu_finish touch
        log "CRIU $mib MiB bench-touch random: $r"
        log "CRIU $mib MiB bench-touch: fault p50 $(json "$r" '["p50_us"]') us, p99 $(json "$r" '["p99_us"]') us," \
            "first pass $(json "$r" '["pass_s"]') s, total $((T_LAST_PAGE - T_FREEZE)) ms freeze -> last page," \
            "restore start -> last page $CRIU_XFER_MS ms ($(criu_mbps "$mib") MB/s), faults served: ${CRIU_FAULTS:-? (CRIU_V=4 counts)}"
        log "CRIU $mib MiB bench-touch: the daemon's time per fault (its -v4 log, #PF to uffd_copy): $(criu_fault_service touch)"
    done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    [ "${1:-}" = selftest ] || { sed -n '2,31p' "$0"; exit 2; }
    . "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
    declare -F fail >/dev/null || fail() { echo "criu-lazy: $*" >&2; exit 1; }
    declare -F log >/dev/null || log() { echo "$(date +%T) $*"; }
    declare -F json >/dev/null || json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d$2)" "$1"; }
    declare -F prewarm >/dev/null || prewarm() { # give this VM's freed memory back to us before a timed run
        dd if=/dev/zero of=/dev/shm/lm-prewarm bs=1M count=$(($1 * 2)) status=none; rm -f /dev/shm/lm-prewarm
    }
    criu_selftest
fi
