#!/bin/bash
# bench-frozen-ab.sh: the frozen steps of `lazymig dump` with two JVM option sets, alternated on one
# workload in one run, so their ratio is measured under the same noise (a benchmark, not a test).
# Starts checksum-loop with MIB MiB, then ROUNDS times dumps it (--leave-running, -v3) with A's options
# and with B's, each after pre-warming memory as bench-dump.sh does, and prints each dump's
# FrozenSteps line ("frozen N ms: freeze .., pagemap .., ...").
#
# usage: it/scripts/bench-frozen-ab.sh [MIB [ROUNDS]]
# env: A_OPTS (default none), B_OPTS (default -Dlazymig.dump.pagemap=read: the pagemap read instead of
#      PAGEMAP_SCAN), DUMP_OPTS (extra dump options), BENCH_DIR (default /tmp/lazymig-bench-ab)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
mib=${1:-1024}
rounds=${2:-2}
dir=${BENCH_DIR:-/tmp/lazymig-bench-ab}
a_opts=${A_OPTS:-}
b_opts=${B_OPTS:--Dlazymig.dump.pagemap=read}
exe=$root/it/target/workloads/checksum-loop
[ -x "$exe" ] || make -s -C "$root/it/workloads" OUT="$root/it/target/workloads"
mkdir -p "$dir"
out=$dir/workload.out
pid=$(bash -c 'for f in /proc/self/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done
               "$@" >"'"$out"'" 2>&1 </dev/null & echo $!' bench "$exe" "$mib" 1000)
cleanup() {
  kill -9 "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
until grep -q "counter 0 " "$out" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "bench-frozen-ab: workload died: $(cat "$out")" >&2; exit 1; }
  sleep 0.1
done
echo "workload: checksum-loop $mib MiB, pid $pid; A: '${a_opts}', B: '${b_opts}'"
for r in $(seq 1 "$rounds"); do
  for side in A B; do
    opts=$a_opts
    [ "$side" = B ] && opts=$b_opts
    rm -rf "$dir/images"
    dd if=/dev/zero of=/dev/shm/lazymig-bench-prewarm bs=1M count=$((2 * mib)) status=none
    rm -f /dev/shm/lazymig-bench-prewarm
    LAZYMIG_JAVA_OPTS="$opts" "$root/lazymig" dump -t "$pid" -D "$dir/images" -v3 --leave-running ${DUMP_OPTS:-} \
      >/dev/null 2>"$dir/run.log"
    echo "$side: $(sed -n 's/.*dump: \(frozen [0-9.]* ms: .*\)$/\1/p' "$dir/run.log")"
  done
done
