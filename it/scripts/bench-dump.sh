#!/bin/bash
# bench-dump.sh: the frozen time of `lazymig dump` of a 1 GiB workload (a benchmark, not a test).
# Starts checksum-loop with MIB MiB (default 1024), waits for its first line, then dumps it RUNS
# times (default 3; all but the last with --leave-running, the last kills it) with -v4 and prints,
# per run, the frozen time, the pages written and GB/s (bytes of pages-1.img / frozen time, 1 GB =
# 1e9 bytes), the frozen steps the dump logs (Dumper's FrozenSteps, ms), and the median. Goal: >= 1 GB/s.
#
# Before each run it pre-warms memory: this VM hands freed memory back to the host, so the first
# touch of fresh memory costs ~10 us/page; writing and deleting a file of 2 x MIB in /dev/shm gets
# the guest pages back first (the pages file then lands in page cache without that cost).
#
# usage: it/scripts/bench-dump.sh [MIB [RUNS]]
# env: BENCH_DIR (default /tmp/lazymig-bench), BENCH_PREWARM=0 to skip the pre-warming
# Run from a built tree (make, or mvn package): it uses ./lazymig and it/target/workloads.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
mib=${1:-1024}
runs=${2:-3}
dir=${BENCH_DIR:-/tmp/lazymig-bench}
exe=$root/it/target/workloads/checksum-loop
[ -x "$exe" ] || make -s -C "$root/it/workloads" OUT="$root/it/target/workloads"
[ -x "$root/lazymig" ] || { echo "bench-dump: no launcher in $root" >&2; exit 1; }

mkdir -p "$dir"
out=$dir/workload.out
# Orphaned (bash exits at once) and with only fds 0..2: any other fd would make the dump refuse it.
pid=$(bash -c 'for f in /proc/self/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done
               "$@" >"'"$out"'" 2>&1 </dev/null & echo $!' bench "$exe" "$mib" 1000)
cleanup() {
  kill -9 "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
until grep -q "counter 0 " "$out" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "bench-dump: workload died: $(cat "$out")" >&2; exit 1; }
  sleep 0.1
done
echo "workload: checksum-loop $mib MiB, pid $pid"

prewarm() {
  [ "${BENCH_PREWARM:-1}" = 0 ] && return
  dd if=/dev/zero of=/dev/shm/lazymig-bench-prewarm bs=1M count=$((2 * mib)) status=none
  rm -f /dev/shm/lazymig-bench-prewarm
}

rates=()
for i in $(seq 1 "$runs"); do
  images=$dir/images-$i
  opts=(--leave-running)
  [ "$i" -eq "$runs" ] && opts=()
  prewarm
  "$root/lazymig" dump -t "$pid" -D "$images" -v4 "${opts[@]}" >"$dir/run.out" 2>"$dir/run.log"
  frozen=$(sed -n 's/.*frozen \([0-9.]*\) ms$/\1/p' "$dir/run.out")
  bytes=$(stat -c %s "$images/pages-1.img")
  phases=$(sed -n 's/.*dump: frozen [0-9.]* ms: \(.*\) ([0-9]* pages, \(.*\))$/\1; \2/p' "$dir/run.log")
  rate=$(awk -v b="$bytes" -v ms="$frozen" 'BEGIN { printf "%.2f", b / 1e9 / (ms / 1000) }')
  rates+=("$rate")
  printf 'run %d: frozen %s ms, %d MiB of pages, %s GB/s  (%s)\n' "$i" "$frozen" $((bytes >> 20)) "$rate" "$phases"
  rm -rf "$images"
done
median=$(printf '%s\n' "${rates[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo "median: $median GB/s (goal >= 1 GB/s)"
