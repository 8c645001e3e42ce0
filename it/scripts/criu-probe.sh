#!/bin/bash
# criu-probe.sh [TOOL]: can the reference CRIU (criu-reference, real CRIU 4.1.1) dump and restore
# a trivial process on this machine, within a few seconds? The ITs that compare lazymig with CRIU
# and make bench's CRIU rows ask this first, so that a CRIU that cannot run here (a guest whose
# hardware breakpoints never fire, a missing chroot, no network for its set-up) is a visible skip
# with this reason, never a hang or a failure of lazymig's own tests.
#
# Prints one line: "ok" (exit 0) or the reason (exit 1). Every step is bounded with timeout(1),
# which signals the step's whole process group when the bound fires (TERM, then KILL).
#   TOOL                   default: $LAZYMIG_CRIU_REFERENCE, else ../shared/tools/criu-reference
#                          beside the project, else /work/shared/tools/criu-reference
#   CRIU_PROBE_SETUP_S     bound of `criu-reference setup` (900: the first run debootstraps a chroot)
#   CRIU_PROBE_STEP_S      bound of each of dump and restore (20)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -gt 0 ]; then
    tool=$1
else
    tool=${LAZYMIG_CRIU_REFERENCE:-$root/../shared/tools/criu-reference}
    [ -x "$tool" ] || tool=/work/shared/tools/criu-reference
fi
setup_s=${CRIU_PROBE_SETUP_S:-900}
step_s=${CRIU_PROBE_STEP_S:-20}

no() { echo "$*"; exit 1; }
timed_out() { [ "$1" = 124 ] || [ "$1" = 137 ]; }   # timeout(1): TERM sent (124), or KILL after it (137)
[ -x "$tool" ] || no "criu-reference not found (set LAZYMIG_CRIU_REFERENCE to its path)"

work=$(mktemp -d /tmp/lazymig-criu-probe.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# last_line FILE: the last non-empty line of a log, for the reason.
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-200; }

timeout -k 5 "$setup_s" "$tool" setup >"$work/setup.log" 2>&1
rc=$?
timed_out $rc && no "criu-reference setup did not finish within ${setup_s} s"
[ $rc = 0 ] || no "criu-reference setup failed (exit $rc): $(last_line "$work/setup.log")"
grep -q '^Version: 4\.' "$work/setup.log" || no "criu-reference setup did not report CRIU 4.x: $(last_line "$work/setup.log")"

# A trivial process in a session of its own (CRIU refuses a task whose session leader lies outside
# its pid namespace, as in CI's), with no fd but 0-2 (an fd inherited from another mount namespace
# is one CRIU cannot dump); setsid does not fork here, so $! is its pid.
(
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    exec setsid sleep 600
) </dev/null >/dev/null 2>&1 &
pid=$!
disown "$pid"
mkdir -p "$work/img"
timeout -k 2 "$step_s" "$tool" criu dump -t "$pid" -D "$work/img" --shell-job -v4 -o dump.log >"$work/dump.out" 2>&1
rc=$?
timed_out $rc && no "criu dump of a sleeping process did not finish within ${step_s} s (last log line: $(last_line "$work/img/dump.log"))"
[ $rc = 0 ] || no "criu dump of a sleeping process failed (exit $rc): $(last_line "$work/img/dump.log")"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done   # dump killed it; bash reaps it
kill -0 "$pid" 2>/dev/null && no "criu dump left the process $pid running"
timeout -k 2 "$step_s" "$tool" criu restore -D "$work/img" --shell-job -d -v4 -o restore.log \
    --pidfile "$work/restored.pid" >"$work/restore.out" 2>&1
rc=$?
timed_out $rc && no "criu restore of a sleeping process did not finish within ${step_s} s (last log line: $(last_line "$work/img/restore.log"))"
[ $rc = 0 ] || no "criu restore of a sleeping process failed (exit $rc): $(last_line "$work/img/restore.log")"
restored=$(cat "$work/restored.pid" 2>/dev/null)
[ "$restored" = "$pid" ] || no "criu restore gave pid '$restored', expected $pid"
[ "$(cat "/proc/$restored/comm" 2>/dev/null)" = sleep ] || no "the process criu restored ($restored) is not there"
echo ok
