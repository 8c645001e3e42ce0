#!/bin/bash
# fault-vs-background: fault latency while the background transfer runs at full speed, over
# loopback (no network namespaces), at +0, +1 and +10 ms of round trip (delay-proxy), against the
# floor: a local userfaultfd round trip (uffd-floor) plus a 4 KiB TCP round trip through the same
# proxy (tcp-probe rtt), p50 and p99 each.
#
# Per RTT, one lazy migration with the daemon's defaults (faults on a connection of their own) and,
# unless AB=0, one with --no-fault-connection (faults share the background's connection): the A/B.
# Each: bench-touch MIB (random order, "auto split": its pass starts by itself once restored and
# times the touches that faulted apart from the hits) dumped to images, served by
# lazy-pages --lazy-server through delay-proxy, restored; the background starts when restore
# finishes, so the pass runs against it from its first touch.
#
# Prints one JSON line per RTT: rtt_us, floor_p50_us, floor_p99_us, then for the default mode
# fault_p50_us / fault_p99_us (the daemon's counted waits: every wait of a thread on a missing
# page, from its fault message to the copy that ended it), proc_fault_p50_us / proc_fault_p99_us
# (the same touches as the process timed them, uffd round trip included), the ratios to the floor,
# bg_mib_s (the background's own rate: its bytes over the timeline steps in which it brought pages
# in), faults, faults_on_background; and the same under "no_fault_connection".
#
# At +0 ms no proxy: the daemon connects to the lazy server directly, and the floor's round trip
# goes straight to its echo server (the proxy's relaying would be one more hop on both).
#
# usage: [QUICK=1] [AB=0] [TLS=1] [DAEMON_OPTS=...] [SERVER_OPTS=...] [LAZYMIG=/other/tree/lazymig] it/bench/fault-vs-background.sh [MIB [RTT_US...]]
#        root; after make. Default 512 MiB (QUICK=1: 128) at 0 1000 10000 us. LAZYMIG: another
#        build's launcher (an A/B against it; the probes and workloads stay this tree's). TLS=1: the
#        connections authenticated and encrypted with a key made for the run, as lazymig runs by
#        default (otherwise --no-auth on both ends, plain TCP as the floor's round trip is).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAZYMIG=${LAZYMIG:-$ROOT/lazymig}
PROBES=$ROOT/it/target/bench
WORKLOADS=$ROOT/it/target/workloads
MIB=${1:-$([ "${QUICK:-0}" = 1 ] && echo 128 || echo 512)}
shift || true
RTTS=(${*:-0 1000 10000})
[ "$(id -u)" = 0 ] || { echo "fault-vs-background: run as root (userfaultfd, ptrace)" >&2; exit 1; }
for p in uffd-floor tcp-probe delay-proxy; do [ -x "$PROBES/$p" ] || { echo "probe $p not built (make)" >&2; exit 1; }; done
[ -x "$WORKLOADS/bench-touch" ] || { echo "bench-touch not built (make)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/fault-vs-background.XXXXXX)
AUTH=(--no-auth)
if [ "${TLS:-0}" = 1 ]; then
    "$LAZYMIG" keygen "$WORK/auth.key" > /dev/null || { echo "fault-vs-background: keygen failed" >&2; exit 1; }
    AUTH=(--auth-key "$WORK/auth.key")
fi
PIDS=()
stop_all() {
    { for p in "${PIDS[@]}"; do kill -9 "$p" || true; done
      for p in "${PIDS[@]}"; do wait "$p" || true; done; } 2>/dev/null
    PIDS=()
}
TCP_SERVER=
trap 'stop_all; [ -z "$TCP_SERVER" ] || kill "$TCP_SERVER" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
# spawn FILE CMD...: CMD in the background, its output in FILE; its pid in $!
spawn() { local f=$1; shift; "$@" > "$f" 2>&1 & PIDS+=($!); }
wait_for() { # wait_for SECONDS CMD...: polls CMD every 10 ms; fails after SECONDS
    local end=$((SECONDS + $1)); shift
    until "$@" 2>/dev/null; do [ $SECONDS -lt $end ] || return 1; sleep 0.01; done
}
listening() { ss -ltnH "sport = :$1" | grep -q .; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
die() { echo "fault-vs-background: $*" >&2; exit 1; }

TPORT=$(free_port)
"$PROBES/tcp-probe" serve "$TPORT" > "$WORK/tcp-serve.log" 2>&1 &
TCP_SERVER=$!
wait_for 10 listening "$TPORT" || die "tcp-probe serve did not listen"

# floor RTT DIR N: the floor's two parts, the Nth time: a local userfaultfd round trip
# (uffd-N.json) and a 4 KiB TCP round trip through delay-proxy at RTT (tcp-N.json; at 0, direct).
# Measured three times per RTT (before the migrations, between, after) and their medians taken: one
# measurement alone moved 22-92 us at p50 here, with where the scheduler put its two threads.
floor() {
    local rtt=$1 d=$2 n=$3 port
    "$PROBES/uffd-floor" 20000 > "$d/uffd-$n.json"
    if [ "$rtt" = 0 ]; then
        "$PROBES/tcp-probe" rtt 127.0.0.1 "$TPORT" 2000 > "$d/tcp-$n.json"
        return
    fi
    port=$(free_port)
    "$PROBES/delay-proxy" 127.0.0.1 "$port" 127.0.0.1 "$TPORT" "$rtt" > "$d/probe-proxy.log" 2>&1 &
    local proxy=$!
    wait_for 10 listening "$port" || die "delay-proxy did not listen"
    "$PROBES/tcp-probe" rtt 127.0.0.1 "$port" "$([ "$rtt" -ge 10000 ] && echo 300 || echo 2000)" > "$d/tcp-$n.json"
    kill "$proxy"; wait "$proxy" 2>/dev/null || true
}

# migrate RTT DIR [DAEMON_OPTS...]: one lazy migration of bench-touch through delay-proxy at RTT
migrate() {
    local rtt=$1 d=$2; shift 2
    mkdir -p "$d"
    # only stdin, stdout and stderr (lazymig dumps regular files, /dev/null and terminals)
    (cd "$d" && for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -le 2 ] || eval "exec $fd>&-"; done
     exec setsid "$WORKLOADS/bench-touch" "$MIB" random auto split </dev/null > out.txt 2>&1) &
    local wpid=$!
    disown "$wpid" # killed by the dump (no job report), restored with the same pid as restore's child
    PIDS+=("$wpid")
    wait_for 120 grep -aq '^tick' "$d/out.txt" || die "bench-touch did not start: $(cat "$d/out.txt")"
    "$LAZYMIG" dump -t "$wpid" -D "$d/img" > "$d/dump.log" 2>&1 || die "dump failed: $(cat "$d/dump.log")"

    spawn "$d/server.log" "$LAZYMIG" lazy-pages --lazy-server -D "$d/img" --address 127.0.0.1 --port 0 "${AUTH[@]}" ${SERVER_OPTS:-}
    wait_for 60 grep -q 'serving process' "$d/server.log" || die "lazy server did not start: $(cat "$d/server.log")"
    local sport xport
    sport=$(sed -n 's/.*serving process .* on .*:\([0-9]*\)$/\1/p' "$d/server.log" | head -n1)
    xport=$sport
    if [ "$rtt" != 0 ]; then
        xport=$(free_port)
        spawn "$d/proxy.log" "$PROBES/delay-proxy" 127.0.0.1 "$xport" 127.0.0.1 "$sport" "$rtt"
        wait_for 10 listening "$xport" || die "delay-proxy did not listen"
    fi
    spawn "$d/daemon.log" "$LAZYMIG" lazy-pages --address "$d/lp.sock" -D "$d/img" --lazy-client 127.0.0.1 \
        --port "$xport" "${AUTH[@]}" --stats-file "$d/stats.json" ${DAEMON_OPTS:-} "$@"
    local dpid=$!
    spawn "$d/restore.log" "$LAZYMIG" restore --lazy-pages --address "$d/lp.sock" --wait-daemon 120 -D "$d/img"
    # Nothing polls while the pass runs: the daemon exits once every page is in, and waiting for it
    # costs no CPU (a poll forking grep and sleep every 10 ms took ~20% of a CPU from the fault path
    # on two vCPUs, and showed up in the tail as the harness's own noise).
    wait "$dpid" || die "the daemon failed: $(cat "$d/daemon.log")"
    wait_for 300 grep -aq '^{' "$d/out.txt" || die "no pass from the restored bench-touch: $(cat "$d/restore.log" "$d/daemon.log")"
    tr -d '\000' < "$d/out.txt" | grep -a '^{' | head -n1 > "$d/touch.json"
    [ -s "$d/stats.json" ] || die "the daemon wrote no stats: $(cat "$d/daemon.log")"
    kill -9 "$wpid" 2>/dev/null || true
    stop_all
    rm -rf "$d/img"
}

for rtt in "${RTTS[@]}"; do
    d=$WORK/rtt-$rtt
    mkdir -p "$d"
    floor "$rtt" "$d" 1
    migrate "$rtt" "$d/fault-connection"
    floor "$rtt" "$d" 2
    if [ "${AB:-1}" != 0 ]; then
        migrate "$rtt" "$d/one-connection" --no-fault-connection
    fi
    floor "$rtt" "$d" 3
    python3 - "$rtt" "$d" "$d/fault-connection" "$d/one-connection" <<'EOF'
import json, os, statistics, sys
rtt, d = int(sys.argv[1]), sys.argv[2]
parts = [[json.load(open(os.path.join(d, f"{kind}-{n}.json"))) for n in (1, 2, 3)] for kind in ("uffd", "tcp")]
floors = {q: sorted(u[f"{q}_us"] + t[f"{q}_us"] for u, t in zip(*parts)) for q in ("p50", "p99")}
floor50 = statistics.median(floors["p50"])
floor99 = statistics.median(floors["p99"])

def run(d):
    touch, stats = (json.load(open(os.path.join(d, f))) for f in ("touch.json", "stats.json"))
    tl = stats["timeline"]["background"]
    steps = sum(1 for i, v in enumerate(tl) if v > (tl[i - 1] if i else 0))
    bg_s = max(steps, 1) * stats["timeline"]["step_ms"] / 1000
    lat = stats["fault_latency_us"]
    return {
        "fault_p50_us": lat["p50"], "fault_p99_us": lat["p99"], "fault_max_us": lat["max"],
        "p50_vs_floor": round(lat["p50"] / floor50, 2), "p99_vs_floor": round(lat["p99"] / floor99, 2),
        "proc_fault_p50_us": touch.get("fault_p50_us"), "proc_fault_p99_us": touch.get("fault_p99_us"),
        "proc_faults": touch.get("faults"),
        "faults": stats["faults"], "faults_on_background": stats["faults_on_background"],
        "bg_mib_s": round(stats["pages_background"] * 4096 / 2**20 / bg_s, 1),
        "duration_s": stats["duration_s"],
    }

line = {"rtt_us": rtt, "floor_p50_us": round(floor50, 1), "floor_p99_us": round(floor99, 1),
        "floor_p50_range_us": [round(floors["p50"][0], 1), round(floors["p50"][-1], 1)]}
line.update(run(sys.argv[3]))
if os.path.exists(os.path.join(sys.argv[4], "stats.json")):
    line["no_fault_connection"] = run(sys.argv[4])
print(json.dumps(line), flush=True)
EOF
done
