#!/bin/bash
# bench-restore.sh [MIB...]: how fast lazymig restore brings a dumped process back, on this host.
#
# For each size (default: 256 1024) it dumps once the workload restore-sleep MIB (asleep in an
# hour-long nanosleep: restored, it returns EINTR at once and prints CLOCK_REALTIME), then runs
# restore three times each way and reports medians:
#   lazy   restore --lazy-pages against a local lazy-pages daemon:
#            command:  from the restore command's start to the process running again (its line)
#            restorer: "running after N ms" from restore's log (Restorer start -> PTRACE_DETACH)
#   eager  restore: the same two times, and eager bytes / restorer time in MB/s
# and the JVM's own start-up apart: `lazymig --version`, median of 5.
#
# Memory is pre-warmed before each timed run: this VM hands freed memory back to the host and a
# first touch costs ~10 us/page; writing and deleting 2 GiB in /dev/shm takes it back first.
# Needs root, a built tree (make) and the workloads (make -C it/workloads).
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
lazymig=$root/lazymig
workload=$root/it/target/workloads/restore-sleep
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(256 1024)
runs=${RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "bench-restore: run as root" >&2; exit 1; }
[ -x "$workload" ] || { echo "bench-restore: $workload missing (make -C $root/it/workloads)" >&2; exit 1; }

work=$(mktemp -d /tmp/lazymig-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work" /dev/shm/lazymig-prewarm
}
trap cleanup EXIT

now_ns() { date +%s%N; }

prewarm() {
  dd if=/dev/zero of=/dev/shm/lazymig-prewarm bs=1M count=2048 status=none
  rm -f /dev/shm/lazymig-prewarm
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# Starts "$@" as an orphan with only fds 0..2 (dump refuses others), output to $out; prints its pid.
spawn() {
  local out=$1; shift
  ( for f in /proc/$BASHPID/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"; done
    exec "$@" >"$out" 2>&1 </dev/null ) &
  echo $!
}

wait_for() { # wait_for SECONDS COMMAND...: poll every 2 ms
  local end=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -le "$end" ] || { echo "bench-restore: timed out waiting for: $*" >&2; return 1; }
    sleep 0.002
  done
}

gone() { # no such process, or only a zombie
  local s; s=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)
  [ -z "$s" ] || [ "$s" = Z ]
}
listening() { # a unix socket at $1 has flag __SO_ACCEPTCON (0x10000) in /proc/net/unix
  local flags
  for flags in $(awk -v p="$1" '$8 == p { print $4 }' /proc/net/unix); do
    (( (16#$flags & 0x10000) != 0 )) && return 0
  done
  return 1
}
ran_again() { grep -aq 'nanosleep returned' "$1"; }
detach_ms() { grep -o 'running after [0-9.]* ms' "$1" | awk '{print $3}'; }
eager_bytes() { grep -o '([0-9]* eager bytes)' "$1" | tr -d '(' | awk '{print $1}'; }

# One timed restore; LAZY=1 with a daemon. Prints "command_ms restorer_ms eager_bytes".
restore_once() {
  local img=$1 out=$2 pid=$3 lazy=$4 log=$work/restore.log sock=$work/lazy.sock daemon=
  prewarm
  : >"$out"
  if [ "$lazy" = 1 ]; then
    "$lazymig" lazy-pages --address "$sock" -D "$img" >"$work/lazy-pages.log" 2>&1 &
    daemon=$!; pids+=("$daemon")
    wait_for 30 listening "$sock"
  fi
  local t0; t0=$(now_ns)
  if [ "$lazy" = 1 ]; then
    "$lazymig" restore --lazy-pages --address "$sock" -D "$img" -v 3 >"$log" 2>&1 &
  else
    "$lazymig" restore -D "$img" -v 3 >"$log" 2>&1 &
  fi
  local restore=$!; pids+=("$restore")
  wait_for 60 ran_again "$out"
  local t1; t1=$(grep -ao 'realtime_ns [0-9]*' "$out" | awk '{print $2}')
  wait_for 10 grep -q 'running after' "$log"
  kill -9 "$pid"
  wait "$restore" 2>/dev/null || true
  [ -z "$daemon" ] || wait "$daemon" 2>/dev/null || true
  wait_for 30 gone "$pid"
  awk -v a="$t0" -v b="$t1" -v r="$(detach_ms "$log")" -v e="$(eager_bytes "$log")" \
    'BEGIN { printf "%.1f %s %s\n", (b - a) / 1e6, r, e }'
}

echo "lazymig restore benchmark: $(nproc) CPUs, kernel $(uname -r), medians of $runs runs"
jvm=()
for i in 1 2 3 4 5; do
  t0=$(now_ns); "$lazymig" --version >/dev/null; t1=$(now_ns)
  jvm+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')")
done
echo "JVM start-up (lazymig --version): $(median "${jvm[@]}") ms"
printf '%-8s %-6s %12s %12s %14s\n' size mode command_ms restorer_ms eager_MB/s

for mib in "${sizes[@]}"; do
  img=$work/img-$mib; out=$work/out-$mib
  pid=$(spawn "$out" "$workload" "$mib" 100); pids+=("$pid")
  wait_for 120 grep -q '^sleeping' "$out"
  "$lazymig" dump -t "$pid" -D "$img" >/dev/null 2>&1
  wait_for 30 gone "$pid"
  for mode in lazy eager; do
    cmd=(); rst=(); mbs=()
    for r in $(seq $runs); do
      read -r c d e < <(restore_once "$img" "$out" "$pid" "$([ $mode = lazy ] && echo 1 || echo 0)")
      cmd+=("$c"); rst+=("$d")
      mbs+=("$(awk -v e="$e" -v d="$d" 'BEGIN { printf "%.0f", e / 1e6 / (d / 1e3) }')")
    done
    printf '%-8s %-6s %12s %12s %14s\n' "${mib}M" "$mode" "$(median "${cmd[@]}")" "$(median "${rst[@]}")" \
      "$([ $mode = eager ] && median "${mbs[@]}" || echo -)"
  done
  rm -rf "$img"
done
