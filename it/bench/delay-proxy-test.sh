#!/bin/bash
# delay-proxy-test.sh — a manual check of delay-proxy on loopback (not part of make test):
# tcp-probe rtt and stream directly and through proxies of 0, 1000 and 10000 us RTT.
# Fails (exit 1, one line) when the p50 RTT through the 10000 us proxy is outside [9000, 14000] us
# or the 0-delay stream is below 200 MB/s. Ports 27200-27203 on 127.0.0.1.
set -u
B=$(cd "$(dirname "${BASH_SOURCE[0]}")/../target/bench" 2>/dev/null && pwd)
fail() { echo "delay-proxy-test: $*" >&2; exit 1; }
[ -n "$B" ] && [ -x "$B/delay-proxy" ] && [ -x "$B/tcp-probe" ] || fail "probes not built (make -C it/bench)"
PIDS=()
LOGS=$(mktemp -d)
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$LOGS"' EXIT
SERVE=27200

"$B/tcp-probe" serve $SERVE & PIDS+=($!)
port=$SERVE
for rtt in 0 1000 10000; do
    port=$((port + 1))
    "$B/delay-proxy" 127.0.0.1 $port 127.0.0.1 $SERVE $rtt 2>"$LOGS/$rtt.log" & PIDS+=($!)
done
for rtt in 0 1000 10000; do # wait for the listening lines
    n=0
    until grep -q "listening on" "$LOGS/$rtt.log" 2>/dev/null; do
        n=$((n + 1))
        [ $n -gt 50 ] && fail "the $rtt us proxy did not listen: $(cat "$LOGS/$rtt.log")"
        sleep 0.1
    done
done

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }
measure() { # measure LABEL PORT ROUND_TRIPS: prints a line, sets P50 and MBS
    local rtt stream
    rtt=$("$B/tcp-probe" rtt 127.0.0.1 $2 $3) || fail "$1: tcp-probe rtt failed"
    stream=$("$B/tcp-probe" stream 127.0.0.1 $2 1024) || fail "$1: tcp-probe stream failed"
    P50=$(field "$rtt" p50_us)
    MBS=$(field "$stream" mb_per_s)
    printf '%-16s rtt p50 %9.1f us  p99 %9.1f us   stream %7.1f MB/s\n' "$1" "$P50" "$(field "$rtt" p99_us)" "$MBS"
}
measure "direct" $SERVE 2000
measure "proxy 0 us" $((SERVE + 1)) 2000
MBS0=$MBS
measure "proxy 1000 us" $((SERVE + 2)) 1000
measure "proxy 10000 us" $((SERVE + 3)) 200
P50_10=$P50

python3 -c "import sys; sys.exit(0 if 9000 <= float(sys.argv[1]) <= 14000 else 1)" "$P50_10" \
    || fail "p50 RTT through the 10000 us proxy is $P50_10 us, not within [9000, 14000]"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 200 else 1)" "$MBS0" \
    || fail "the 0-delay stream is $MBS0 MB/s, below 200"
echo "delay-proxy-test: ok"
