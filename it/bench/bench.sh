#!/bin/bash
# bench.sh — lazymig's performance report: migrations between the lm-src (B) and lm-dst (A)
# namespace hosts (it/e2e/lib.sh), every figure against a baseline measured in the same run:
#   floor       a local userfaultfd fault round trip (uffd-floor) + a 4 KiB TCP round trip A->B
#   raw TCP     a plain TCP stream B->A of the same bytes (tcp-probe)
#   eager       the same workload dumped, its images copied B->A over TCP, restored eagerly
#   CRIU        the same workloads migrated lazily by CRIU 4.1.1 (criu-lazy.sh)
# The workload is bench-touch (it/workloads): it prints a wall-clock tick every 20 ms until it is
# restored (a gap in its ticks), then times its first touch of every page (seq or random order).
#   downtime    its last tick on B to its first tick on A, less one tick
#   total       its last tick on B to the daemon's last page in (eager: to its first tick on A)
#   fault       its per-page first-touch latency, one page per fault, no background
#   fault, background  the same while the background transfer runs at full speed (the default
#               mode): the touches that faulted as the process saw them, and the daemon's waits
#   background  the daemon's bytes / time, with the process idle, and while it faults heavily
#   first pass  its first sequential pass over its memory right after restore
#   encryption  the idle background and the fault latency (rtt 0) again with --no-encryption on both
#               ends: every other lazymig figure is encrypted (TLS 1.3, the default), so these give
#               the cost of encryption as ratios within one run (ENC_OPTS adds options to both ends)
#   effective downtime  bench-tick, a workload that touches 64 pages every 2 ms through the
#               migration: its largest tick gap less one tick, by the seed flow, the seed flow
#               with A's commands started first, lazymig migrate, and CRIU (64 MiB, 1 and 4 GiB)
#               (migrate also with 8 ticking threads, and with a tree of 4 ticking processes)
# Figures 2-6 again behind a delaying TCP proxy (delay-proxy) adding 1 ms and 10 ms of round trip.
#
# Raw results of every migration go to bench/raw/rN/NAME/ (meta, the daemon's stats.json, the
# workload's result line); it/bench/report.py turns them into bench/report.{md,json} and charts:
# medians over RUNS runs with min and max. QUICK=1 runs once, without 4 GiB and 1 ms.
# Memory is pre-warmed before each migration (this VM hands freed memory back to its host).

set -u
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    RUNS=${RUNS:-1}; BIG=${BIG:-256}; SIZES=${SIZES:-"256 1024"}; RTTS=${RTTS:-"0 10000"}
    DOWNTIME_SIZES=${DOWNTIME_SIZES:-"64 1024"}
else
    RUNS=${RUNS:-3}; BIG=${BIG:-1024}; SIZES=${SIZES:-"256 1024 4096"}; RTTS=${RTTS:-"0 1000 10000"}
    DOWNTIME_SIZES=${DOWNTIME_SIZES:-"64 1024 4096"}
fi
CRIU=${CRIU:-1}
COW_MIB=${COW_MIB:-1024}   # the memory the copy-on-write tree shares
ONLY=${ONLY:-.}   # a regex: only the migrations whose names match (e.g. ONLY='^idle'), for tuning
HD=$E2E_HOST_DIR
OUT=$E2E_ROOT/bench
PROBES=$E2E_ROOT/it/target/bench
fail() { echo "bench: $*" >&2; exit 1; }
log() { echo "$(date +%T) $*"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# fault_mib RTT_US: the fault-latency workload's size: one page per fault, so a delayed link gets
# fewer pages (1024 pages x 10 ms is already 10 s).
fault_mib() {
    case $1 in 0) [ "$QUICK" = 1 ] && echo 64 || echo 128 ;; 1000) echo 16 ;; *) echo 4 ;; esac
}

e2e_lock "$0" "$@"
e2e_close_fds
e2e_config
for p in uffd-floor tcp-probe delay-proxy; do [ -x "$PROBES/$p" ] || fail "probe $p not built (make)"; done
[ -x "$WORKLOADS/bench-touch" ] || fail "workloads not built (make)"
trap 'hosts_down; exit' EXIT
trap 'exit 130' INT TERM
hosts_up || fail "cannot set up the hosts"
rm -rf "$OUT/raw" && mkdir -p "$OUT/raw"
key=$(on "$E2E_SRC" "$LAZYMIG keygen $HD/src.key >/dev/null && base64 -w0 $HD/src.key") || fail keygen
on "$E2E_DST" "echo $key | base64 -d > $HD/dst.key && chmod 600 $HD/dst.key"
if [ "$CRIU" = 1 ]; then
    . "$BENCH_DIR/criu-lazy.sh"
    # The reference is a peer, not a capability: when it cannot dump and restore a sleeping process
    # here (bounded probe; it sets the reference up the first time, 2-5 minutes), its rows read
    # "n/a: REASON" and the rest of the benchmark runs.
    log "probing the CRIU reference ($CRIU_REF)"
    if why=$("$E2E_ROOT/it/scripts/criu-probe.sh" "$CRIU_REF"); then
        criu_setup
    else
        log "CRIU 4.1.1 left out: $why"
        echo "$why" > "$OUT/raw/criu-na.txt"
        CRIU=0
    fi
fi

# Pre-warming. This VM hands freed memory back to its host, after a few seconds free, and a first
# touch of memory that went back costs ~10 us a page instead of ~1.4. So before a migration:
# prewarm WARM_MIB HOLD_MIB touches HOLD_MIB and holds it (a file in /dev/shm) until release_hold,
# then touches WARM_MIB and frees it at once (the workload's fill and the images a dump writes
# take those pages). release_hold runs just before the dump (freeing a few GiB takes rm ~0.5 s:
# never inside the downtime, ours or CRIU's): measured, memory freed at the start of a migration
# had partly gone back to the host by the time a 1 GiB transfer reached it. The hold gives way to
# the warm part when both do not fit in /dev/shm and the memory available.
prewarm() {
    local shm mem room
    shm=$(df -m --output=avail /dev/shm | tail -n1)
    mem=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
    room=$(( (shm < mem ? shm : mem) - 1024 ))
    local hold=$(( $2 < room - $1 ? $2 : room - $1 ))
    [ "$hold" -gt 0 ] && dd if=/dev/zero of=/dev/shm/lm-hold bs=1M count="$hold" status=none
    dd if=/dev/zero of=/dev/shm/lm-warm bs=1M count="$1" status=none; rm -f /dev/shm/lm-warm
}
release_hold() { rm -f /dev/shm/lm-hold; }

# proxy_up RTT_US: delaying proxies on A (this kernel has no netem): 127.0.0.1:2828 -> B's lazy
# server (2727), 127.0.0.1:2899 -> B's tcp-probe (2799), and 10.231.77.2:2796 -> A's image
# receiver (2797) for eager migration's copy. Sets the addresses the daemon, probes and copy use.
proxy_up() {
    on "$E2E_DST" "pkill -f delay-proxy" 2>/dev/null
    if [ "$1" = 0 ]; then
        SERVER_ADDR=$E2E_NET.1; SERVER_PORT=2727; PROBE_ADDR=$E2E_NET.1; PROBE_PORT=2799; COPY_PORT=2797
        return 0
    fi
    spawn "$E2E_DST" $HD proxy-server "$PROBES/delay-proxy 127.0.0.1 2828 $E2E_NET.1 2727 $1" >/dev/null
    spawn "$E2E_DST" $HD proxy-probe "$PROBES/delay-proxy 127.0.0.1 2899 $E2E_NET.1 2799 $1" >/dev/null
    spawn "$E2E_DST" $HD proxy-copy "$PROBES/delay-proxy $E2E_NET.2 2796 127.0.0.1 2797 $1" >/dev/null
    wait_on "$E2E_DST" 10 "grep -q listening $HD/proxy-server.log && grep -q listening $HD/proxy-probe.log && grep -q listening $HD/proxy-copy.log" \
        || fail "delay-proxy did not start: $(on "$E2E_DST" "cat $HD/proxy-*.log")"
    SERVER_ADDR=127.0.0.1; SERVER_PORT=2828; PROBE_ADDR=127.0.0.1; PROBE_PORT=2899; COPY_PORT=2796
}

# baselines RUN_DIR RTT_US: the floor parts and the raw TCP stream, through the proxy if any.
baselines() {
    local d=$1/baseline-$2
    mkdir -p "$d"
    [ "$2" = 0 ] && { on "$E2E_DST" "$PROBES/uffd-floor 20000" > "$d/uffd.json" || fail uffd-floor; }
    on "$E2E_DST" "$PROBES/tcp-probe rtt $PROBE_ADDR $PROBE_PORT $([ "$2" -ge 10000 ] && echo 300 || echo 2000)" \
        > "$d/rtt.json" || fail "tcp rtt"
    # A -> B, the way A reaches B through the proxy; the veth link is the same both ways
    on "$E2E_DST" "$PROBES/tcp-probe stream $PROBE_ADDR $PROBE_PORT $BIG" > "$d/stream.json" || fail "tcp stream"
    echo "rtt_us=$2 mib=$BIG" > "$d/meta"
}

# start_workload NAME MIB MODE [FLAGS [WARM_MIB [HOLD_MIB]]]: bench-touch on B under $HD/NAME,
# after a prewarm of WARM_MIB (default MIB) and a hold of HOLD_MIB (default MIB + 256); sets PID.
start_workload() {
    local n=$1
    prewarm "${5:-$2}" "${6:-$(($2 + 256))}"
    on "$E2E_SRC" "mkdir -p $HD/$n && : > $HD/$n/out.txt"
    on "$E2E_DST" "mkdir -p $HD/$n/a && : > $HD/$n/out.txt"
    PID=$(on "$E2E_SRC" "cd $HD/$n && setsid $WORKLOADS/bench-touch $2 $3 ${4:-} </dev/null >>$HD/$n/out.txt 2>&1 & echo \$!")
    wait_on "$E2E_SRC" 300 "grep -aq '^tick' $HD/$n/out.txt" || fail "$n: workload did not start"
    sleep 0.3
}

# dump NAME: lazymig dump of PID on B into $HD/NAME/b; records its frozen time.
dump() {
    on "$E2E_SRC" "$LAZYMIG dump -t $PID -D $HD/$1/b > $HD/$1/dump.out 2> $HD/$1/dump.log" \
        || fail "$1: dump: $(on "$E2E_SRC" "cat $HD/$1/dump.log")"
    FROZEN_MS=$(on "$E2E_SRC" "sed -n 's/.*frozen \([0-9.]*\) ms\$/\1/p' $HD/$1/dump.out")
    DUMP_BYTES=$(on "$E2E_SRC" "stat -c %s $HD/$1/b/pages-1.img")
}

# last_tick HOST NAME / first_tick HOST NAME: the workload's ticks around the migration.
last_tick() { on "$1" "grep -a '^tick' $HD/$2/out.txt | tail -n1 | awk '{print \$3}'"; }
first_tick() {
    wait_on "$1" 120 "grep -aq '^tick\|^{' $HD/$2/out.txt" || fail "$2: no tick after restore"
    on "$1" "tr -d '\\000' < $HD/$2/out.txt | grep -a '^tick' | head -n1 | awk '{print \$3}'"
}

# lazy NAME MIB MODE RTT_US DAEMON-OPTIONS [TOUCH]: one lazy migration; with TOUCH (bench-touch's
# flags: "auto" starts its pass by itself once restored, "split" times faults apart from hits) its
# result line is kept; without, the process idles. SOURCE says
# where B serves pages from: "process" (dump --lazy-pages: the frozen process itself, no page
# written; CRIU's flow) or "images" (dump to pages-N.img, then lazy-pages --lazy-server).
# Writes RAW/NAME/{meta,stats.json,result.json}.
# The waits on the path from the freeze to the restore poll every 10 ms (CRIU's side is told by
# its --status-fd), so the driver adds little to the downtime.
SOURCE=process
lazy() {
    local n=$1 mib=$2 mode=$3 rtt=$4 opts=$5 go=${6:-} d=$RAW/$1 server
    [[ $n =~ $ONLY ]] || return 0
    mkdir -p "$d"
    start_workload "$n" "$mib" "$mode" "$go" $([ "$SOURCE" = images ] && echo $((2 * mib)) || echo "$mib")
    release_hold
    if [ "$SOURCE" = images ]; then
        dump "$n"
        server=server
        spawn "$E2E_SRC" $HD/$n server "$LAZYMIG lazy-pages --lazy-server -D $HD/$n/b --port 2727 --auth-key $HD/src.key ${ENC_OPTS:-}" >/dev/null
        WAIT_STEP=0.01 wait_on "$E2E_SRC" 60 "grep -q 'lazy-server: serving' $HD/$n/server.log" || fail "$n: server: $(on "$E2E_SRC" "cat $HD/$n/server.log")"
    else
        server=dump
        spawn "$E2E_SRC" $HD/$n dump "$LAZYMIG dump -t $PID -D $HD/$n/b --lazy-pages --port 2727 --auth-key $HD/src.key ${ENC_OPTS:-}" >/dev/null
        WAIT_STEP=0.01 wait_on "$E2E_SRC" 120 "grep -q 'serving the lazy pages' $HD/$n/dump.log" || fail "$n: dump --lazy-pages: $(on "$E2E_SRC" "cat $HD/$n/dump.log")"
        FROZEN_MS=$(on "$E2E_SRC" "sed -n 's/.*frozen \([0-9.]*\) ms\$/\1/p' $HD/$n/dump.log | head -n1")
        DUMP_BYTES=
    fi
    # the server's peak RSS: VmHWM only grows, so its last reading before the server exits is the peak
    on "$E2E_SRC" "p=\$(cat $HD/$n/$server.pid); (while [ -d /proc/\$p ]; do grep VmHWM /proc/\$p/status > $HD/$n/hwm.tmp 2>/dev/null && mv $HD/$n/hwm.tmp $HD/$n/hwm; sleep 0.05; done) </dev/null >/dev/null 2>&1 &"
    local t_serving; t_serving=$(now_ms)
    local before; before=$(last_tick "$E2E_SRC" "$n")
    local t_client; t_client=$(now_ms)
    spawn "$E2E_DST" $HD/$n client "$LAZYMIG lazy-pages --address $HD/$n/lp.sock -D $HD/$n/a --lazy-client $SERVER_ADDR --port $SERVER_PORT --auth-key $HD/dst.key ${ENC_OPTS:-} --stats-file $HD/$n/stats.json $opts" >/dev/null
    # restore starts with the daemon and waits for its socket (--wait-daemon): the two start-ups overlap
    local t_restore; t_restore=$(now_ms)
    spawn "$E2E_DST" $HD/$n restore "$LAZYMIG restore --lazy-pages --address $HD/$n/lp.sock --wait-daemon 120 -D $HD/$n/a -v3" >/dev/null
    wait_on "$E2E_DST" 150 "grep -q 'running after' $HD/$n/restore.log" \
        || fail "$n: restore: $(on "$E2E_DST" "cat $HD/$n/restore.log $HD/$n/client.log")"
    local after; after=$(first_tick "$E2E_DST" "$n")
    if [ -n "$go" ]; then
        wait_on "$E2E_DST" 600 "grep -aq '^{' $HD/$n/out.txt" || fail "$n: no result from bench-touch"
        on "$E2E_DST" "tr -d '\\000' < $HD/$n/out.txt | grep -a '^{' | head -n1" > "$d/result.json"
    fi
    if [[ $opts != *lazy-idle-timeout* ]]; then
        wait_rc "$E2E_DST" $HD/$n/client.rc 900 >/dev/null || fail "$n: the daemon did not finish"
        on "$E2E_DST" "cat $HD/$n/stats.json" > "$d/stats.json"
        [ "$SOURCE" = images ] || wait_rc "$E2E_SRC" $HD/$n/dump.rc 60 >/dev/null || fail "$n: dump did not release the source"
    fi
    local srv_rss; srv_rss=$(on "$E2E_SRC" "awk '{print \$2}' $HD/$n/hwm 2>/dev/null")
    cat > "$d/meta" <<EOF
kind=lazy
source=$SOURCE
mib=$mib
t_serving=$t_serving
t_client=$t_client
t_restore=$t_restore
mode=$mode
rtt_us=$rtt
last_tick_b=$before
first_tick_a=$after
frozen_ms=$FROZEN_MS
dump_bytes=$DUMP_BYTES
server_peak_rss_kib=${srv_rss:-}
EOF
    cleanup "$n"
}

# eager NAME MIB RTT_US: dump, copy the images B -> A over TCP (tar | tcp-probe, through the
# proxy if any), restore without --lazy-pages. Writes RAW/NAME/meta.
eager() {
    local n=$1 mib=$2 rtt=$3 d=$RAW/$1
    [[ $n =~ $ONLY ]] || return 0
    mkdir -p "$d"
    start_workload "$n" "$mib" seq "" $((2 * mib)) $((2 * mib + 256))  # A: the images' copy and the restored memory
    release_hold
    dump "$n"
    local before; before=$(last_tick "$E2E_SRC" "$n")
    spawn "$E2E_DST" $HD/$n recv "$PROBES/tcp-probe recv 2797 | tar x -C $HD/$n/a" >/dev/null
    wait_on "$E2E_DST" 10 "ss -ltn | grep -q :2797" || fail "$n: image receiver"
    on "$E2E_SRC" "tar c -C $HD/$n/b . | $PROBES/tcp-probe send $E2E_NET.2 $COPY_PORT" || fail "$n: image copy"
    [ "$(wait_rc "$E2E_DST" $HD/$n/recv.rc 300)" = 0 ] || fail "$n: image copy: $(on "$E2E_DST" "cat $HD/$n/recv.log")"
    on "$E2E_SRC" "rm -rf $HD/$n/b"
    spawn "$E2E_DST" $HD/$n restore "$LAZYMIG restore -D $HD/$n/a -v3" >/dev/null
    local after; after=$(first_tick "$E2E_DST" "$n")
    wait_on "$E2E_DST" 30 "grep -q 'running after' $HD/$n/restore.log" || fail "$n: restore: $(on "$E2E_DST" "cat $HD/$n/restore.log")"
    local restorer; restorer=$(on "$E2E_DST" "sed -n 's/.*running after \([0-9.]*\) ms.*/\1/p' $HD/$n/restore.log | head -n1")
    cat > "$d/meta" <<EOF
kind=eager
mib=$mib
mode=seq
rtt_us=$rtt
last_tick_b=$before
first_tick_a=$after
frozen_ms=$FROZEN_MS
dump_bytes=$DUMP_BYTES
restorer_ms=$restorer
EOF
    cleanup "$n"
}

# cleanup NAME: keep the logs in RAW/NAME, stop what is left of a migration on both hosts and free
# its memory.
cleanup() {
    local h
    for h in "$E2E_SRC" "$E2E_DST"; do
        on "$h" "kill -9 $PID -$PID 2>/dev/null; pkill -9 -f '$HD/$1/'"
        on "$h" "cd $HD/$1 && tar c --ignore-failed-read *.log 2>/dev/null" | tar x -C "$RAW/$1" --transform "s|^|$([ "$h" = "$E2E_SRC" ] && echo b || echo a)-|" 2>/dev/null
        on "$h" "rm -rf $HD/$1"
    done
}

# criu NAME MIB MODE [TOUCH]: the same as lazy, migrated by CRIU 4.1.1 (criu-lazy.sh: dump
# --lazy-pages on B, the images copied to A, lazy-pages --page-server and restore --lazy-pages on
# A). Writes RAW/criu-NAME/{meta,result.json} and, for the fault run (CRIU_V=4), CRIU's daemon's
# own time per fault from its log (service.json).
criu() {
    local n=$1 mib=$2 mode=$3 go=${4:-} c=criu-$1 d=$RAW/criu-$1
    [[ $c =~ $ONLY ]] || return 0
    mkdir -p "$d"
    prewarm "$mib" $((mib + 256))
    CRIU_BEFORE_DUMP=release_hold criu_migrate "$n" "$WORKLOADS/bench-touch $mib $mode $go"
    local before; before=$(last_tick "$E2E_SRC" $c)
    local after; after=$(first_tick "$E2E_DST" $c)
    if [ -n "$go" ]; then
        wait_on "$E2E_DST" 900 "grep -aq '^{' $HD/$c/out.txt" || fail "$c: no result from bench-touch under CRIU"
        on "$E2E_DST" "tr -d '\\000' < $HD/$c/out.txt | grep -a '^{' | head -n1" > "$d/result.json"
    fi
    criu_finish "$n"
    cp "$E2E_LOGS/$c"/a/*.log "$d/" 2>/dev/null
    cp "$E2E_LOGS/$c"/b/dump.log "$d/b-dump.log" 2>/dev/null
    [ "$CRIU_V" -ge 4 ] && criu_fault_service "$n" > "$d/service.json"
    cat > "$d/meta" <<EOF
kind=criu
mib=$mib
mode=$mode
rtt_us=0
last_tick_b=$before
first_tick_a=$after
freeze_ms=$T_FREEZE
last_page_ms=$T_LAST_PAGE
EOF
}

# --- effective downtime: a workload that keeps working through the migration ------------------
# bench-tick MIB works like a service: every TICK_US it touches 64 pages (a sample spread over all
# its memory and a walk) and keeps, in its own memory, the largest gap between two ticks. Its
# effective downtime is that gap less one tick: the freeze on B to its first tick of useful work on
# A, every page it waited for included. It is read from its first line on A after every page is in
# (the largest gap before the migration is kept too, to show it is small). Flows:
#   seed        the seed's four commands back to back: dump -t PID -D DIR, lazy-pages --lazy-server
#               on B; then lazy-pages --lazy-client and restore --lazy-pages on A
#   prestarted  the seed's commands in the best order: the server on B and A's two commands first
#               (each waits, warm, for the images, its server or its daemon), then the dump
#   migrate     lazymig migrate on B to a lazymig agent started once, warm, on A
#   criu        CRIU 4.1.1's lazy flow (criu-lazy.sh) on the same workload
TICK_US=2000
AGENT_PORT=2728

# tick_gap HOST FILE [AFTER_MS]: maxgap_us of the first tick line of FILE whose t is after AFTER_MS,
# waiting up to 30 s for one; without AFTER_MS, of the last tick line. With TICK_PROCS=N (a tree of
# N bench-tick processes, each printing lines ending in "proc I"), the largest maxgap of the first
# line after AFTER_MS of each of the N processes, waiting for all N.
tick_gap() {
    local sel="/^tick/ { g = \$6 } END { if (g == \"\") exit 1; print g }"
    [ -n "${3:-}" ] && sel="/^tick/ && \$4 > $3 && !(\$12 in seen) { seen[\$12] = 1; if (\$6 + 0 > g + 0) g = \$6; if (++n == ${TICK_PROCS:-1}) { print g; f = 1; exit } } END { exit !f }"
    wait_on "$1" 30 "tr -d '\\000' < $2 | awk '$sel' >/dev/null" || return 1
    on "$1" "tr -d '\\000' < $2 | awk '$sel'"
}

# agent_up: the agent on A, started once per benchmark (its JVM warm, as an operator runs it).
# AGENT_OPTS: its options beyond the port, directory and key (default -v 3; -v 4 logs restore's phases).
agent_up() {
    on "$E2E_DST" "[ -s $HD/agent.pid ] && kill -0 \$(cat $HD/agent.pid) 2>/dev/null" && return 0
    spawn "$E2E_DST" $HD agent "$LAZYMIG agent --port $AGENT_PORT -D $HD/agent --auth-key $HD/dst.key ${AGENT_OPTS:--v 3}" >/dev/null
    wait_on "$E2E_DST" 120 "grep -q 'agent: ready on' $HD/agent.log" \
        || fail "the agent did not get ready: $(on "$E2E_DST" "tail -n5 $HD/agent.log")"
}

# service NAME FLOW MIB: one migration of bench-tick MIB by FLOW. Writes RAW/NAME/meta.
# TICK_THREADS=N (default 1): bench-tick ticks in N threads, each on its own slice; the meta's flow
# is then FLOW-Nt (e.g. migrate-8t). IDLE_THREADS=M (default 0): M more threads per process parked on a
# condition variable (a runtime's idle pool), counted in the flow's name (migrate-100t). TICK_PROCS=N (default 1): bench-tick is a tree of N processes
# (the parent and N-1 children, each with MIB/N of memory and 64/N pages a tick); the flow is then
# FLOW-treeN (e.g. migrate-tree4) and the gaps are the largest of any process. MIGRATE_OPTS: more
# options of migrate (e.g. -v 4: its frozen steps in RAW/NAME/b-migrate.log; A's are in a-agent.log).
service() {
    local n=$1 flow=$2 mib=$3 d=$RAW/$1 gap_before gap t_done agent_from
    [[ $n =~ $ONLY ]] || return 0
    mkdir -p "$d"
    [ "$flow" = migrate ] && agent_up
    prewarm $([ "$flow" = migrate ] && echo "$mib" || echo $((2 * mib))) $((mib + 256))
    on "$E2E_SRC" "mkdir -p $HD/$n && : > $HD/$n/out.txt"
    on "$E2E_DST" "mkdir -p $HD/$n/a && : > $HD/$n/out.txt"
    PID=$(on "$E2E_SRC" "cd $HD/$n && setsid $WORKLOADS/bench-tick $mib $TICK_US 64 ${TICK_THREADS:-1} ${TICK_PROCS:-1} ${IDLE_THREADS:-0} </dev/null >>$HD/$n/out.txt 2>&1 & echo \$!")
    wait_on "$E2E_SRC" 300 "grep -aq '^tick' $HD/$n/out.txt" || fail "$n: bench-tick did not tick"
    release_hold
    gap_before=$(tick_gap "$E2E_SRC" $HD/$n/out.txt $(now_ms)) || fail "$n: bench-tick stopped ticking"
    local server="lazy-pages --lazy-server -D $HD/$n/b --port 2727 --auth-key $HD/src.key -v3"
    local client="lazy-pages --address $HD/$n/lp.sock -D $HD/$n/a --lazy-client $E2E_NET.1 --port 2727 --auth-key $HD/dst.key --stats-file $HD/$n/stats.json -v3"
    local restore="restore --lazy-pages --address $HD/$n/lp.sock -D $HD/$n/a -v4"
    case $flow in
        seed)
            on "$E2E_SRC" "$LAZYMIG dump -t $PID -D $HD/$n/b -v3 > $HD/$n/dump.out 2> $HD/$n/dump.log" \
                || fail "$n: dump: $(on "$E2E_SRC" "cat $HD/$n/dump.log")"
            spawn "$E2E_SRC" $HD/$n server "$LAZYMIG $server" >/dev/null
            WAIT_STEP=0.01 wait_on "$E2E_SRC" 60 "grep -q 'lazy-server: serving' $HD/$n/server.log" \
                || fail "$n: server: $(on "$E2E_SRC" "cat $HD/$n/server.log")"
            spawn "$E2E_DST" $HD/$n client "$LAZYMIG $client" >/dev/null
            spawn "$E2E_DST" $HD/$n restore "$LAZYMIG $restore" >/dev/null ;;
        prestarted)
            spawn "$E2E_SRC" $HD/$n server "$LAZYMIG $server" >/dev/null
            spawn "$E2E_DST" $HD/$n client "$LAZYMIG $client" >/dev/null
            spawn "$E2E_DST" $HD/$n restore "$LAZYMIG $restore" >/dev/null
            wait_on "$E2E_DST" 60 "grep -q 'waiting for the lazy server' $HD/$n/client.log && grep -q 'waiting for the lazy-pages daemon' $HD/$n/restore.log" \
                || fail "$n: A's commands are not waiting: $(on "$E2E_DST" "cat $HD/$n/client.log $HD/$n/restore.log")"
            wait_on "$E2E_SRC" 60 "grep -q 'waiting for' $HD/$n/server.log" \
                || fail "$n: the server is not waiting for the images: $(on "$E2E_SRC" "cat $HD/$n/server.log")"
            # an operator starts them ahead of time: each has warmed its JVM up (a loopback migration) meanwhile
            wait_on "$E2E_SRC" 60 "grep -q 'warmed up\|warm-up failed' $HD/$n/server.log" || fail "$n: the server did not warm up"
            wait_on "$E2E_DST" 60 "grep -q 'warmed up\|warm-up failed' $HD/$n/client.log && grep -q 'warmed up\|warm-up failed' $HD/$n/restore.log" \
                || fail "$n: A's commands did not warm up"
            on "$E2E_SRC" "$LAZYMIG dump -t $PID -D $HD/$n/b -v3 > $HD/$n/dump.out 2> $HD/$n/dump.log" \
                || fail "$n: dump: $(on "$E2E_SRC" "cat $HD/$n/dump.log")"
            ;;
        migrate)
            agent_from=$(on "$E2E_DST" "wc -l < $HD/agent.log")
            spawn "$E2E_SRC" $HD/$n migrate "$LAZYMIG migrate -t $PID --to $E2E_NET.2 --port $AGENT_PORT --auth-key $HD/src.key --stats-file $HD/$n/stats.json ${MIGRATE_OPTS:-}" >/dev/null ;;
    esac
    if [ "$flow" = migrate ]; then
        [ "$(wait_rc "$E2E_SRC" $HD/$n/migrate.rc 900)" = 0 ] || fail "$n: migrate: $(on "$E2E_SRC" "tail -n5 $HD/$n/migrate.log")"
        on "$E2E_SRC" "grep 'migrated to' $HD/$n/migrate.log" > "$d/summary.txt"
        on "$E2E_SRC" "cat $HD/$n/stats.json" > "$d/stats.json"
        on "$E2E_DST" "tail -n +$((agent_from + 1)) $HD/agent.log" > "$d/a-agent.log" # this migration's part of the agent's log
    else
        # the daemon exits 0 once every page is in; restore exits only with the process, so a status is a failure
        wait_on "$E2E_DST" 900 "[ -s $HD/$n/client.rc ] || [ -s $HD/$n/restore.rc ]" || fail "$n: the daemon did not finish"
        [ "$(rc_of "$E2E_DST" $HD/$n/client.rc)" = 0 ] \
            || fail "$n: $(on "$E2E_DST" "tail -n3 $HD/$n/restore.log; tr '\\r' '\\n' < $HD/$n/client.log | tail -n3")"
        on "$E2E_DST" "cat $HD/$n/stats.json" > "$d/stats.json"
    fi
    t_done=$(now_ms)
    gap=$(tick_gap "$E2E_DST" $HD/$n/out.txt "$t_done") || fail "$n: no tick on A after the transfer"
    cat > "$d/meta" <<META
kind=service
flow=$flow$([ "${TICK_THREADS:-1}" = 1 ] && [ "${IDLE_THREADS:-0}" = 0 ] || echo "-$(( ${TICK_THREADS:-1} + ${IDLE_THREADS:-0} ))t")$([ "${TICK_PROCS:-1}" = 1 ] || echo "-tree${TICK_PROCS}")
mib=$mib
tick_us=$TICK_US
gap_before_us=$gap_before
max_gap_us=$gap
META
    cleanup "$n"
}

# cow_tree NAME MIB: a tree of 4 sharing MIB MiB copy-on-write (cow-tree: a parent fills it and forks
# three children, none of which writes it) migrated by lazymig migrate --share-cow; once every
# page is on A, the memory the tree uses there: the sum of its processes' Pss (each shared page
# counted once in all), and on B before, for comparison. Writes RAW/NAME/meta.
cow_tree() {
    local n=$1 mib=$2 d=$RAW/$1 r pids_b pids_a
    [[ $n =~ $ONLY ]] || return 0
    mkdir -p "$d"
    agent_up
    prewarm "$mib" $((mib + 256))
    on "$E2E_SRC" "mkdir -p $HD/$n && : > $HD/$n/out.txt"
    PID=$(on "$E2E_SRC" "cd $HD/$n && setsid $WORKLOADS/cow-tree $mib 2000 $HD/$n 0 </dev/null >>$HD/$n/out.txt 2>&1 & echo \$!")
    wait_on "$E2E_SRC" 300 "( for r in parent c0 c1 c2; do grep -qs ' ok\$' $HD/$n/\$r.log || exit 1; done )" \
        || fail "$n: cow-tree did not start: $(on "$E2E_SRC" "cat $HD/$n/out.txt $HD/$n/*.log | tail -n5")"
    release_hold
    # the tree's pids (its lines name them) and the sum of their Pss, in KiB
    tree_pids() { on "$1" "for r in parent c0 c1 c2; do tail -n1 $HD/$n/\$r.log | awk '{ print \$4 }'; done" | tr '\n' ' '; }
    tree_kib() { on "$1" "cat $(for p in $2; do printf '/proc/%s/smaps_rollup ' "$p"; done) | awk '/^$3:/ { s += \$2 } END { print s }'"; }
    pids_b=$(tree_pids "$E2E_SRC")
    local pss_b rss_b pss_a rss_a
    pss_b=$(tree_kib "$E2E_SRC" "$pids_b" Pss); rss_b=$(tree_kib "$E2E_SRC" "$pids_b" Rss)
    spawn "$E2E_SRC" $HD/$n migrate "$LAZYMIG migrate -t $PID --to $E2E_NET.2 --port $AGENT_PORT --auth-key $HD/src.key --stats-file $HD/$n/stats.json --share-cow" >/dev/null
    [ "$(wait_rc "$E2E_SRC" $HD/$n/migrate.rc 900)" = 0 ] || fail "$n: migrate: $(on "$E2E_SRC" "tail -n5 $HD/$n/migrate.log")"
    on "$E2E_SRC" "grep 'migrated to' $HD/$n/migrate.log" > "$d/summary.txt"
    # each role's last counter on B (its log there ends at the freeze): on A, each prints two past it, all ok
    # each role's last counter on B: on A, each must print two past it
    local past=""
    for r in parent c0 c1 c2; do
        past+="[ \$(tail -n1 $HD/$n/$r.log | awk '{ print \$8 }') -gt $(( $(on "$E2E_SRC" "tail -n1 $HD/$n/$r.log | awk '{ print \$8 }'") + 2 )) ] && "
    done
    wait_on "$E2E_DST" 120 "${past}true" \
        || fail "$n: the tree does not run on A: $(on "$E2E_DST" "tail -qn1 $HD/$n/*.log")"
    on "$E2E_DST" "grep -q BAD $HD/$n/*.log" && fail "$n: a region changed: $(on "$E2E_DST" "grep -m1 BAD $HD/$n/*.log")"
    pids_a=$(tree_pids "$E2E_DST")
    pss_a=$(tree_kib "$E2E_DST" "$pids_a" Pss); rss_a=$(tree_kib "$E2E_DST" "$pids_a" Rss)
    cat > "$d/meta" <<META
kind=cowtree
mib=$mib
pss_b_kib=$pss_b
rss_b_kib=$rss_b
pss_a_kib=$pss_a
rss_a_kib=$rss_a
downtime_ms=$(sed -n 's/.*downtime \([0-9.]*\) ms.*/\1/p' "$d/summary.txt")
META
    log "$n: the tree's Pss on A $((pss_a / 1024)) MiB (Rss summed $((rss_a / 1024)) MiB), on B $((pss_b / 1024)) MiB"
    cleanup "$n"
}

# criu_service NAME MIB: the same workload through CRIU's lazy flow. Writes RAW/criu-NAME/meta.
criu_service() {
    local n=$1 mib=$2 c=criu-$1 d=$RAW/criu-$1 gap t_last
    [[ $c =~ $ONLY ]] || return 0
    mkdir -p "$d"
    prewarm "$mib" $((mib + 256))
    CRIU_BEFORE_DUMP="criu_gap_before $c" criu_migrate "$n" "$WORKLOADS/bench-tick $mib $TICK_US 64"
    wait_on "$E2E_DST" 300 "[ -s $HD/$c/lazy.end ]" || fail "$c: CRIU's lazy-pages daemon did not finish"
    t_last=$(on "$E2E_DST" "cat $HD/$c/lazy.end")
    gap=$(tick_gap "$E2E_DST" $HD/$c/out.txt "$t_last") || fail "$c: no tick on A after CRIU's transfer"
    criu_finish "$n"
    cat > "$d/meta" <<META
kind=service
flow=criu
mib=$mib
tick_us=$TICK_US
gap_before_us=$CRIU_GAP_BEFORE
max_gap_us=$gap
META
}
criu_gap_before() {
    release_hold
    CRIU_GAP_BEFORE=$(tick_gap "$E2E_SRC" $HD/$1/out.txt $(now_ms)) || fail "$1: bench-tick stopped ticking"
}

START=$(date +%s)
for run in $(seq 1 "$RUNS"); do
    RAW=$OUT/raw/r$run
    mkdir -p "$RAW"
    for rtt in $RTTS; do
        proxy_up "$rtt"
        spawn "$E2E_SRC" $HD probe-b "$PROBES/tcp-probe serve 2799" >/dev/null
        sleep 0.2
        log "run $run, rtt $rtt us: baselines"
        baselines "$RAW" "$rtt"
        on "$E2E_SRC" "pkill -f 'tcp-probe serve'"
        fm=$(fault_mib "$rtt")
        log "run $run, rtt $rtt us: fault latency ($fm MiB, random, one page per fault, no background)"
        lazy fault-$rtt "$fm" random "$rtt" "--fault-around 4096 --lazy-idle-timeout 600" "auto split"
        log "run $run, rtt $rtt us: fault latency with the background running at full speed ($BIG MiB, random, one page per fault)"
        lazy faultbg-$rtt "$BIG" random "$rtt" "--fault-around 4096" "auto split"
        log "run $run, rtt $rtt us: background, idle process ($BIG MiB)"
        lazy idle-$BIG-$rtt "$BIG" seq "$rtt" ""
        log "run $run, rtt $rtt us: background while the process faults heavily ($BIG MiB, random pass)"
        lazy heavy-$rtt "$BIG" random "$rtt" "" auto
        log "run $run, rtt $rtt us: first sequential pass ($BIG MiB)"
        lazy pass-$rtt "$BIG" seq "$rtt" "" auto
        if [ "$rtt" != 0 ]; then
            log "run $run, rtt $rtt us: eager migration ($BIG MiB)"
            eager eager-$BIG-$rtt "$BIG" "$rtt"
        fi
        if [ "$rtt" = 0 ]; then
            log "run $run: without encryption (--no-encryption on both ends): background, idle process ($BIG MiB)"
            ENC_OPTS=--no-encryption lazy plain-idle-$BIG "$BIG" seq 0 ""
            log "run $run: without encryption: fault latency ($fm MiB, random, one page per fault, no background)"
            ENC_OPTS=--no-encryption lazy plain-fault "$fm" random 0 "--fault-around 4096 --lazy-idle-timeout 600" "auto split"
            for mib in $SIZES; do
                if [ "$mib" != "$BIG" ]; then
                    log "run $run: lazy migration of an idle process, $mib MiB"
                    lazy idle-$mib-0 "$mib" seq 0 ""
                fi
                log "run $run: lazy migration from image files (dump, then lazy-pages --lazy-server), $mib MiB"
                SOURCE=images lazy files-$mib-0 "$mib" seq 0 ""
                log "run $run: eager migration, $mib MiB"
                eager eager-$mib-0 "$mib" 0
            done
            for mib in $DOWNTIME_SIZES; do
                for flow in seed prestarted migrate; do
                    log "run $run: effective downtime, $flow, $mib MiB (bench-tick: 64 pages every 2 ms)"
                    service tick-$flow-$mib $flow "$mib"
                done
                if [ "$mib" = "${DOWNTIME_SIZES%% *}" ]; then
                    log "run $run: effective downtime, migrate, $mib MiB, 8 threads ticking (64 pages every 2 ms in all, 8 each)"
                    TICK_THREADS=8 service tick-migrate8t-$mib migrate "$mib"
                    log "run $run: effective downtime, migrate, $mib MiB, 100 threads (1 ticking, 99 parked)"
                    IDLE_THREADS=99 service tick-migrate100t-$mib migrate "$mib"
                fi
                log "run $run: effective downtime, migrate, $mib MiB, a tree of 4 processes ticking ($mib MiB and 64 pages every 2 ms in all, a quarter each)"
                TICK_PROCS=4 service tick-migrate-tree4-$mib migrate "$mib"
                if [ "$CRIU" = 1 ]; then
                    log "run $run: effective downtime, CRIU 4.1.1, $mib MiB"
                    criu_service tick-$mib "$mib"
                fi
            done
            log "run $run: memory on A of a tree of 4 sharing $COW_MIB MiB copy-on-write (cow-tree, migrate)"
            cow_tree cowtree-$COW_MIB "$COW_MIB"
            if [ "$CRIU" = 1 ]; then
                log "run $run: CRIU 4.1.1: fault latency, idle, first pass$([ "$run" = 1 ] && echo ", random pass")"
                CRIU_V=4 criu fault "$(fault_mib 0)" random "auto split"
                criu idle-$BIG "$BIG" seq
                # CRIU's random pass under its own background transfer takes minutes (it serves
                # each fault behind the chunk in flight, one page at a time): once, in run 1
                [ "$run" = 1 ] && criu heavy "$BIG" random auto
                criu pass "$BIG" seq auto
            fi
        fi
    done
    proxy_up 0
done
log "done in $(( $(date +%s) - START )) s"
python3 "$BENCH_DIR/report.py" "$OUT" --quick "$QUICK" --big "$BIG" --sizes "$SIZES" --rtts "$RTTS" \
    --elapsed-s $(( $(date +%s) - START )) || fail "report.py failed"
