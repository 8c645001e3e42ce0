#!/bin/bash
# bench.sh — lazymig's performance figures between the lm-src (B) and lm-dst (A) namespace hosts
# (it/e2e/lib.sh), every figure a ratio against a baseline measured in the same run:
#   floor       a local userfaultfd fault round trip (uffd-floor) + a 4 KiB TCP round trip A->B
#   raw TCP     a plain TCP stream B->A of the same bytes (tcp-probe)
#   fault       bench-touch's own first-touch latency after a lazy restore, one page per fault
#   background  the daemon's throughput while the process idles, and while it faults heavily
#   first pass  bench-touch's first full pass over its memory right after restore
#   downtime    checksum-loop: its last line before the dump to its first line on A
# Writes bench/report.json and bench/report.md. QUICK=1 uses 256 MiB instead of 1 GiB.
# Memory is pre-warmed before each migration (this VM hands freed memory back to its host).

set -u
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

QUICK=${QUICK:-0}
BIG=$([ "$QUICK" = 1 ] && echo 256 || echo 1024)
FAULT_MIB=${FAULT_MIB:-$([ "$QUICK" = 1 ] && echo 64 || echo 256)}
HD=$E2E_HOST_DIR
OUT=$E2E_ROOT/bench
PROBES=$E2E_ROOT/it/target/bench
fail() { echo "bench: $*" >&2; exit 1; }
log() { echo "$(date +%T) $*"; }

e2e_lock "$0" "$@"
e2e_close_fds
e2e_config
[ -x "$PROBES/uffd-floor" ] || fail "probes not built (make)"
trap 'hosts_down; exit' EXIT
trap 'exit 130' INT TERM
hosts_up || fail "cannot set up the hosts"
mkdir -p "$OUT"
key=$(on "$E2E_SRC" "$LAZYMIG keygen $HD/src.key >/dev/null && base64 -w0 $HD/src.key") || fail keygen
on "$E2E_DST" "echo $key | base64 -d > $HD/dst.key && chmod 600 $HD/dst.key"

prewarm() { # give this VM's freed memory back to us before a timed run
    dd if=/dev/zero of=/dev/shm/lm-prewarm bs=1M count=$((BIG * 2)) status=none; rm -f /dev/shm/lm-prewarm
}
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d$2)" "$1"; }

# --- baselines --------------------------------------------------------------------------------
log "floor: local uffd fault round trip on A"
UFFD=$(on "$E2E_DST" "$PROBES/uffd-floor 20000") || fail "uffd-floor"
spawn "$E2E_SRC" $HD probe-b "$PROBES/tcp-probe serve 2799" >/dev/null
spawn "$E2E_DST" $HD probe-a "$PROBES/tcp-probe serve 2799" >/dev/null
sleep 0.3
log "floor: 4 KiB TCP round trip A -> B"
RTT=$(on "$E2E_DST" "$PROBES/tcp-probe rtt $E2E_NET.1 2799 3000") || fail "tcp rtt"
log "raw TCP stream B -> A, $BIG MiB"
STREAM=$(on "$E2E_SRC" "$PROBES/tcp-probe stream $E2E_NET.2 2799 $BIG") || fail "tcp stream"

# --- one lazy migration: migrate NAME WORKLOAD CLIENT-OPTIONS ------------------------------
migrate() {
    local n=$1 w=$2 opts=$3
    prewarm
    on "$E2E_SRC" "mkdir -p $HD/$n && : > $HD/$n/out.txt"
    PID=$(on "$E2E_SRC" "cd $HD/$n && setsid $w </dev/null >>$HD/$n/out.txt 2>&1 & echo \$!")
    wait_on "$E2E_SRC" 120 "grep -q '^ready\|^pid ' $HD/$n/out.txt" || fail "$n: workload did not start"
    sleep 0.5
    on "$E2E_SRC" "$LAZYMIG dump -t $PID -D $HD/$n/b > $HD/$n/dump.log 2>&1" || fail "$n: dump: $(on "$E2E_SRC" "cat $HD/$n/dump.log")"
    spawn "$E2E_SRC" $HD/$n server "$LAZYMIG lazy-pages --lazy-server -D $HD/$n/b --port 2727 --auth-key $HD/src.key" >/dev/null
    wait_on "$E2E_SRC" 60 "grep -q 'lazy-server: serving' $HD/$n/server.log" || fail "$n: server"
    on "$E2E_DST" "mkdir -p $HD/$n/a && : > $HD/$n/out.txt"
    spawn "$E2E_DST" $HD/$n client "$LAZYMIG lazy-pages --address $HD/$n/lp.sock -D $HD/$n/a --lazy-client $E2E_NET.1 --port 2727 --auth-key $HD/dst.key --stats-file $HD/$n/stats.json $opts" >/dev/null
    wait_on "$E2E_DST" 120 "[ -S $HD/$n/lp.sock ]" || fail "$n: client did not listen: $(on "$E2E_DST" "cat $HD/$n/client.log")"
    spawn "$E2E_DST" $HD/$n restore "$LAZYMIG restore --lazy-pages --address $HD/$n/lp.sock -D $HD/$n/a -v3" >/dev/null
    wait_on "$E2E_DST" 60 "grep -q 'running after' $HD/$n/restore.log" || fail "$n: restore: $(on "$E2E_DST" "cat $HD/$n/restore.log")"
}
finish() { # finish NAME [nowait]: wait for the daemon (unless nowait), stop the rest
    if [ -z "${2:-}" ]; then
        wait_rc "$E2E_DST" $HD/$1/client.rc 300 >/dev/null || fail "$1: the daemon did not finish"
    fi
    on "$E2E_DST" "pkill -9 -f '$HD/$1/'; kill -9 $PID 2>/dev/null"
    on "$E2E_SRC" "pkill -9 -f '$HD/$1/'; kill -9 $PID 2>/dev/null"
    wait_rc "$E2E_SRC" $HD/$1/server.rc 30 >/dev/null
}
result_line() { # result_line NAME: bench-touch's JSON line on A
    wait_on "$E2E_DST" 300 "grep -q '^{' $HD/$1/out.txt" || fail "$1: no result from bench-touch"
    on "$E2E_DST" "grep '^{' $HD/$1/out.txt | head -n1"
}

log "fault latency: $FAULT_MIB MiB, random touches, one page per fault, no background"
migrate fault "$WORKLOADS/bench-touch $FAULT_MIB random" "--fault-around 4096 --lazy-idle-timeout 600"
on "$E2E_DST" "kill -USR1 $PID"  # restored under its own pid (the cmdline is lazy memory: no pgrep -f)
FAULT=$(result_line fault)
finish fault nowait

log "background, idle process: $BIG MiB"
migrate idle "$WORKLOADS/bench-touch $BIG seq" ""
finish idle
IDLE=$(on "$E2E_DST" "cat $HD/idle/stats.json")

log "background while the process faults heavily (random first pass): $BIG MiB"
migrate heavy "$WORKLOADS/bench-touch $BIG random" ""
on "$E2E_DST" "kill -USR1 $PID"
HEAVY_PASS=$(result_line heavy)
finish heavy
HEAVY=$(on "$E2E_DST" "cat $HD/heavy/stats.json")

log "first pass: sequential, right after restore: $BIG MiB"
migrate pass "$WORKLOADS/bench-touch $BIG seq" ""
on "$E2E_DST" "kill -USR1 $PID"
PASS=$(result_line pass)
finish pass

log "downtime: checksum-loop 256 MiB, a line every 100 ms"
migrate down "$WORKLOADS/checksum-loop-static 256 100" ""
wait_on "$E2E_DST" 60 "grep -q '^pid ' $HD/down/out.txt" || fail "down: no line after restore"
T_BEFORE=$(on "$E2E_SRC" "grep '^pid ' $HD/down/out.txt | tail -n1 | awk '{print \$8}'")
T_AFTER=$(on "$E2E_DST" "grep '^pid ' $HD/down/out.txt | head -n1 | awk '{print \$8}'")
finish down

python3 - "$OUT" "$QUICK" "$BIG" "$UFFD" "$RTT" "$STREAM" "$FAULT" "$IDLE" "$HEAVY" "$HEAVY_PASS" "$PASS" "$T_BEFORE" "$T_AFTER" <<'PY'
import json, sys, platform, datetime
out, quick, big = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
uffd, rtt, stream, fault, idle, heavy, heavy_pass, first = (json.loads(a) for a in sys.argv[4:12])
t_before, t_after = int(sys.argv[12]), int(sys.argv[13])
floor = uffd["p50_us"] + rtt["p50_us"]
mbps = lambda s: s["bytes"] / 1e6 / s["duration_s"]
raw = stream["mb_per_s"]
raw_pass_s = big * 1048576 / 1e6 / raw
r = {
    "machine": platform.node(), "kernel": platform.release(), "date": datetime.datetime.utcnow().isoformat() + "Z",
    "quick": quick, "workload_mib": big,
    "floor": {"uffd_fault_p50_us": uffd["p50_us"], "tcp_rtt_4k_p50_us": rtt["p50_us"], "floor_us": floor},
    "raw_tcp_mb_per_s": raw,
    "fault_latency_us": {k: fault[k] for k in ("p50_us", "p90_us", "p99_us", "max_us")},
    "background_idle_mb_per_s": mbps(idle), "background_heavy_mb_per_s": mbps(heavy),
    "first_pass_s": first["pass_s"], "first_pass_random_s": heavy_pass["pass_s"], "raw_tcp_pass_s": raw_pass_s,
    "downtime_ms": t_after - t_before - 100,
}
r["ratios"] = {
    "fault_p50_vs_floor": fault["p50_us"] / floor, "fault_p99_vs_floor": fault["p99_us"] / floor,
    "background_vs_raw_tcp": mbps(idle) / raw, "heavy_vs_idle": mbps(heavy) / mbps(idle),
    "first_pass_vs_raw_tcp": first["pass_s"] / raw_pass_s,
}
goals = {"fault_p50_vs_floor": ("<=", 1.3), "fault_p99_vs_floor": ("<=", 2.5), "background_vs_raw_tcp": (">=", 0.9),
         "heavy_vs_idle": (">=", 0.8), "first_pass_vs_raw_tcp": ("<=", 1.3)}
json.dump(r, open(out + "/report.json", "w"), indent=2)
lines = ["# lazymig benchmark (partial: issue 5's targets; the full report is issue 6's)", "",
         f"Machine {r['machine']}, kernel {r['kernel']}, {r['date']}; workload {big} MiB{' (QUICK)' if quick else ''}; "
         "hosts lm-src/lm-dst (network namespaces on this machine); memory pre-warmed before each migration.", "",
         "| figure | value | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
def row(name, value, base, key):
    op, g = goals[key]; v = r["ratios"][key]; ok = v <= g if op == "<=" else v >= g
    lines.append(f"| {name} | {value} | {base} | {v:.2f} | {op} {g} | {'yes' if ok else 'NO'} |")
row("fault latency p50", f"{fault['p50_us']:.0f} us", f"floor {floor:.0f} us", "fault_p50_vs_floor")
row("fault latency p99", f"{fault['p99_us']:.0f} us", f"floor {floor:.0f} us", "fault_p99_vs_floor")
row("background, idle", f"{mbps(idle):.0f} MB/s", f"raw TCP {raw:.0f} MB/s", "background_vs_raw_tcp")
row("background, heavy faulting", f"{mbps(heavy):.0f} MB/s", f"idle {mbps(idle):.0f} MB/s", "heavy_vs_idle")
row("first sequential pass", f"{first['pass_s']:.2f} s", f"raw TCP {raw_pass_s:.2f} s", "first_pass_vs_raw_tcp")
lines += ["", f"Downtime (last line before the dump to the first on A, lazy, JVM start-ups included): {r['downtime_ms']} ms.",
          f"Floor parts: uffd fault round trip p50 {uffd['p50_us']:.1f} us, 4 KiB TCP round trip p50 {rtt['p50_us']:.1f} us."]
open(out + "/report.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
