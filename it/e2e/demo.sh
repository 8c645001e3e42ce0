#!/bin/bash
# demo.sh — make demo: one workload migrated lazily from host B (lm-src) to host A (lm-dst), two
# network-namespace hosts on this machine (see lib.sh), with the operator's command lines; then
# another one in one command, lazymig migrate to lazymig agent.
# DEMO_MIB (default 256) sizes the workload.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO_MIB=${DEMO_MIB:-256}
HD=$E2E_HOST_DIR
C=demo
bold= plain=
if [ -t 1 ]; then
    bold=$(tput bold 2>/dev/null || true)
    plain=$(tput sgr0 2>/dev/null || true)
fi

say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# shows a command as the operator types it (lazymig for the launcher's path)
show() { printf '%s[%s]%s $ %s\n' "$bold" "$1" "$plain" "${2//$LAZYMIG/lazymig}"; }
die_demo() { printf '\n%sdemo failed: %s%s\n' "$bold" "$*" "$plain"; exit 1; }

[ -z "${SRC:-}${DST:-}" ] || die "make demo runs on this machine's namespace hosts; SRC and DST are for make e2e"
e2e_lock "$0" "$@"
e2e_close_fds
e2e_config
trap 'netns_down; rmdir $HD 2>/dev/null; exit' EXIT
trap 'exit 130' INT TERM

say "Two hosts on this machine: network namespaces lm-src (host B, $E2E_NET.1) and lm-dst (host A, $E2E_NET.2)"
echo "   joined by a veth pair; each with its own pid and mount namespace and its own /tmp/lm-e2e."
echo "   lazymig = $LAZYMIG"
netns_up || die_demo "cannot set up the hosts"
on "$E2E_SRC" "ip -br -4 addr | awk '{ print \"   B: \" \$1 \" \" \$3 }'; ip route | sed 's/^/   B: route /'"
on "$E2E_DST" "ip -br -4 addr | awk '{ print \"   A: \" \$1 \" \" \$3 }'; ip route | sed 's/^/   A: route /'"

say "A shared key, made on B and copied to A (a different path there)"
show B "$LAZYMIG keygen $HD/src.key"
key=$(on "$E2E_SRC" "$LAZYMIG keygen $HD/src.key >/dev/null && base64 -w0 $HD/src.key") || die_demo "keygen"
on "$E2E_DST" "echo $key | base64 -d > $HD/dst.key && chmod 600 $HD/dst.key"
echo "   (copied to A as $HD/dst.key)"

say "The workload on B: checksum-loop fills $DEMO_MIB MiB, then prints its checksum and a counter"
show B "checksum-loop-static $DEMO_MIB 500 >> $HD/$C/out.txt &"
pid=$(on "$E2E_SRC" "mkdir -p $HD/$C && cd $HD/$C && setsid $WORKLOADS/checksum-loop-static $DEMO_MIB 500 \
        </dev/null >>$HD/$C/out.txt 2>&1 & echo \$!") || die_demo "cannot start the workload"
wait_on "$E2E_SRC" 60 "[ \$(grep -c '^pid ' $HD/$C/out.txt) -ge 4 ]" || die_demo "the workload printed nothing"
on "$E2E_SRC" "sed 's/^/   B: /' $HD/$C/out.txt"

say "Dump it on B (it stops there)"
show B "$LAZYMIG dump -t $pid -D $HD/$C/images-b"
on "$E2E_SRC" "$LAZYMIG dump -t $pid -D $HD/$C/images-b" | sed 's/^/   /'
[ "${PIPESTATUS[0]}" = 0 ] || die_demo "dump failed"
before=$(on "$E2E_SRC" "grep '^pid ' $HD/$C/out.txt | tail -n1")
echo "   last line on B: $before"

say "The lazy server on B"
show B "$LAZYMIG lazy-pages --lazy-server -D $HD/$C/images-b --port $PORT --auth-key $HD/src.key &"
spawn "$E2E_SRC" "$HD/$C" server "$LAZYMIG lazy-pages --lazy-server -D $HD/$C/images-b --port $PORT --auth-key $HD/src.key" >/dev/null
wait_on "$E2E_SRC" 60 "grep -q 'lazy-server: serving' $HD/$C/server.log" || die_demo "the lazy server did not start"
on "$E2E_SRC" "sed 's/^/   /' $HD/$C/server.log"

say "The lazy-pages daemon on A: fetches the images from B into an empty directory, then waits for restore"
on "$E2E_DST" "mkdir -p $HD/$C/images-a && : > $HD/$C/out.txt"   # restore reopens the workload's stdout by path
show A "$LAZYMIG lazy-pages --address $HD/$C/lp.sock -D $HD/$C/images-a --lazy-client $SRC_ADDR --port $PORT --auth-key $HD/dst.key &"
# On a terminal (script(1) gives it one) the daemon shows its progress line; into a file or a
# pipe each update goes on a line of its own.
cr='\r'
[ -t 1 ] || cr='\n'
on "$E2E_DST" "cd $HD/$C && { script -qfec 'exec $LAZYMIG lazy-pages --address $HD/$C/lp.sock -D $HD/$C/images-a \
    --lazy-client $SRC_ADDR --port $PORT --auth-key $HD/dst.key' /dev/null; echo \$? > daemon.rc; } | tr '\r' '$cr'" &
daemon=$!
wait_on "$E2E_DST" 60 "[ -S $HD/$C/lp.sock ]" || die_demo "the lazy-pages daemon did not listen"
on "$E2E_DST" "ls $HD/$C/images-a | tr '\\n' ' ' | sed 's/^/   fetched: /'; echo"

say "Restore on A: the process runs at once; its memory follows"
show A "$LAZYMIG restore --lazy-pages --address $HD/$C/lp.sock -D $HD/$C/images-a &"
spawn "$E2E_DST" "$HD/$C" restore "$LAZYMIG restore --lazy-pages --address $HD/$C/lp.sock -D $HD/$C/images-a" >/dev/null
wait "$daemon"
rc=$(rc_of "$E2E_DST" $HD/$C/daemon.rc)
[ -t 1 ] && echo
[ "$rc" = 0 ] || die_demo "the lazy-pages daemon exited ${rc:-?}"
echo "   the daemon exited 0: every page is in"

say "The workload on A (it printed these lines on host A)"
wait_on "$E2E_DST" 60 "[ \$(grep -c '^pid ' $HD/$C/out.txt) -ge 3 ]" \
    || die_demo "no output on A: $(on "$E2E_DST" "cat $HD/$C/restore.log")"
on "$E2E_DST" "tr -d '\\000' < $HD/$C/out.txt | sed 's/^/   A: /'"
on "$E2E_DST" "[ -d /proc/$pid ] && echo '   process $pid runs in host A'\"'\"'s pid namespace: '\$(tr '\\0' ' ' < /proc/$pid/cmdline)"

after=$(on "$E2E_DST" "tr -d '\\000' < $HD/$C/out.txt | grep '^pid ' | head -n1")
sum_before=$(echo "$before" | awk '{ print $6 }')
sum_after=$(echo "$after" | awk '{ print $6 }')
counter_before=$(echo "$before" | awk '{ print $4 }')
counter_after=$(echo "$after" | awk '{ print $4 }')
on "$E2E_DST" "kill -9 $pid" 2>/dev/null
on "$E2E_SRC" "kill \$(cat $HD/$C/server.pid)" 2>/dev/null

say "Result"
echo "   counter before dump: $counter_before / first after restore: $counter_after"
if [ -n "$sum_before" ] && [ "$sum_before" = "$sum_after" ]; then
    echo "${bold}   checksum before dump: $sum_before / after restore: $sum_after — identical${plain}"
    status=0
else
    echo "${bold}   checksum before dump: $sum_before / after restore: $sum_after — DIFFERENT${plain}"
    status=1
fi

say "In one command: lazymig agent on A, lazymig migrate on B"
AGENT_PORT=${AGENT_PORT:-2728}
show A "$LAZYMIG agent --port $AGENT_PORT -D $HD/agent --auth-key $HD/dst.key &"
spawn "$E2E_DST" "$HD/$C" agent "$LAZYMIG agent --port $AGENT_PORT -D $HD/agent --auth-key $HD/dst.key" >/dev/null \
    || die_demo "cannot start the agent"
wait_on "$E2E_DST" 120 "grep -q 'agent: ready on' $HD/$C/agent.log" || die_demo "the agent did not get ready: $(on "$E2E_DST" "tail -n3 $HD/$C/agent.log")"
on "$E2E_DST" "sed 's/^/   /' $HD/$C/agent.log"
show B "checksum-loop-static $DEMO_MIB 500 >> $HD/$C/out2.txt &"
pid2=$(on "$E2E_SRC" "cd $HD/$C && setsid $WORKLOADS/checksum-loop-static $DEMO_MIB 500 \
        </dev/null >>$HD/$C/out2.txt 2>&1 & echo \$!") || die_demo "cannot start the workload"
on "$E2E_DST" ": > $HD/$C/out2.txt"   # the restored process reopens its stdout by path
wait_on "$E2E_SRC" 60 "[ \$(grep -c '^pid ' $HD/$C/out2.txt) -ge 3 ]" || die_demo "the workload printed nothing"
on "$E2E_SRC" "sed 's/^/   B: /' $HD/$C/out2.txt"
show B "$LAZYMIG migrate -t $pid2 --to $DST_ADDR --port $AGENT_PORT --auth-key $HD/src.key"
on "$E2E_SRC" "$LAZYMIG migrate -t $pid2 --to $DST_ADDR --port $AGENT_PORT --auth-key $HD/src.key" | sed 's/^/   /'
[ "${PIPESTATUS[0]}" = 0 ] || die_demo "migrate failed"
before2=$(on "$E2E_SRC" "grep '^pid ' $HD/$C/out2.txt | tail -n1")
wait_on "$E2E_DST" 60 "[ \$(grep -c '^pid ' $HD/$C/out2.txt) -ge 2 ]" || die_demo "no output on A"
on "$E2E_DST" "tr -d '\\000' < $HD/$C/out2.txt | sed 's/^/   A: /'"
after2=$(on "$E2E_DST" "tr -d '\\000' < $HD/$C/out2.txt | grep '^pid ' | head -n1")
on "$E2E_DST" "kill -9 $pid2" 2>/dev/null
sum_before2=$(echo "$before2" | awk '{ print $6 }')
sum_after2=$(echo "$after2" | awk '{ print $6 }')
if [ -n "$sum_before2" ] && [ "$sum_before2" = "$sum_after2" ]; then
    echo "${bold}   migrate: checksum on B: $sum_before2 / on A: $sum_after2 — identical${plain}"
else
    echo "${bold}   migrate: checksum on B: $sum_before2 / on A: $sum_after2 — DIFFERENT${plain}"
    status=1
fi

say "Tear down: the hosts and everything in them are removed"
netns_down
rmdir $HD 2>/dev/null
exit $status
