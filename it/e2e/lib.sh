# lib.sh — the two-host test bed of the e2e cases and the demo (sourced by e2e.sh and demo.sh).
#
# A host is a command prefix that runs a command on it: "nsenter -t HOLDER -n -p -m" for the
# namespace hosts, "ssh root@host" for a real machine. Scripts go to a host on the stdin of
# "PREFIX sh -s", so the same text works through nsenter and through ssh, and nothing relies on a
# filesystem the hosts share: files cross only through lazymig (and the key, through the driver).
#
# Namespace hosts (the default): network namespaces lm-src (10.231.77.1/24) and lm-dst
# (10.231.77.2/24) joined by a veth pair, lo up, no other route; in each a holder process with a
# PID and mount namespace of its own and its own tmpfs on /tmp/lm-e2e (and /tmp/hsperfdata_root),
# so pids and files behave as on two machines. Real hosts: SRC='ssh root@host-b' DST='ssh root@host-a' SRC_ADDR=host-b's
# address, with lazymig (LAZYMIG, default 'lazymig' on PATH) and the workloads (WORKLOADS) installed
# at the same paths on both.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_HOST_DIR=/tmp/lm-e2e          # the working directory on every host
E2E_NET=10.231.77                 # the only network the namespace hosts use
E2E_MARK=lm-e2e-holder            # in the command line of every holder this bed starts

die() { echo "e2e: $*" >&2; exit 2; }

# e2e_lock SCRIPT ARGS...: the namespace hosts have fixed names, so one run at a time on a machine
# (make e2e, make demo, the ITs): re-runs SCRIPT under flock(1), which holds the lock and does not
# pass its fd on (-o).
E2E_LOCK=/run/lock/lm-e2e.lock
e2e_lock() {
    [ -n "${SRC:-}${DST:-}" ] && return 0
    if [ -n "${E2E_LOCKED:-}" ]; then
        [ -n "${E2E_LOCK_WAITED:-}" ] && echo "e2e: the namespace hosts are ours now" >&2
        return 0
    fi
    export E2E_LOCKED=1
    if ! flock -n -o "$E2E_LOCK" true 2>/dev/null; then
        echo "e2e: another run holds the namespace hosts ($E2E_LOCK); waiting up to 15 min" >&2
        export E2E_LOCK_WAITED=1
    fi
    exec flock -w 900 -o "$E2E_LOCK" "$@"
}

# Our own stray fds (make's jobserver, a test harness's pipes) must not reach the workloads:
# dump refuses a process with a pipe open.
e2e_close_fds() {
    local fd
    for fd in $(ls /proc/$BASHPID/fd); do
        [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    return 0
}

e2e_config() {
    if [ -n "${SRC:-}" ] || [ -n "${DST:-}" ]; then
        [ -n "${SRC:-}" ] && [ -n "${DST:-}" ] || die "set both SRC and DST (command prefixes of the two hosts)"
        [ -n "${SRC_ADDR:-}" ] || die "SRC='$SRC' needs SRC_ADDR, the address host A reaches host B's lazy server at"
        [ -n "${DST_ADDR:-}" ] || die "DST='$DST' needs DST_ADDR, the address host B reaches host A's agent at"
        E2E_MODE=remote
        LAZYMIG=${LAZYMIG:-lazymig}
        E2E_SRC=$SRC
        E2E_DST=$DST
    else
        E2E_MODE=netns
        SRC_ADDR=$E2E_NET.1
        DST_ADDR=$E2E_NET.2
        LAZYMIG=${LAZYMIG:-$E2E_ROOT/lazymig}
        [ "$(id -u)" = 0 ] || die "the namespace hosts need root"
        case $LAZYMIG in /*) [ -x "$LAZYMIG" ] || die "$LAZYMIG is not built (run 'make')" ;; esac
    fi
    WORKLOADS=${WORKLOADS:-$E2E_ROOT/it/target/workloads}
    PYTHON=${PYTHON:-/usr/bin/python3}
    JAVA=${JAVA:-java}
    NODE=${NODE:-node}
    PORT=${PORT:-2727}
    E2E_LOGS=${E2E_LOGS:-$E2E_ROOT/it/target/e2e}
    mkdir -p "$E2E_LOGS"
}

# on HOST SCRIPT: runs SCRIPT with sh on HOST (a command prefix), stdin /dev/null. The braces make
# the shell read the whole script before it runs any of it.
on() {
    printf '{\n%s\n} </dev/null\n' "$2" | eval "$1 sh -s"
}

# wait_on HOST SECONDS CONDITION: polls CONDITION (sh) on HOST every WAIT_STEP s (default 0.1; the
# benchmark's critical path uses 0.01); 1 when it never held.
wait_on() {
    local step=${WAIT_STEP:-0.1}
    on "$1" "n=0; until $3; do n=\$((n+1)); [ \$n -ge $(awk "BEGIN { print int($2 / $step) }") ] && exit 1; sleep $step; done; exit 0"
}

# --- namespace hosts ------------------------------------------------------------------------

# The holder of a host: pid 1 of a new PID namespace (it reaps orphans, as init does) with a
# mount namespace of its own and a tmpfs of its own on /tmp/lm-e2e, and one on
# /tmp/hsperfdata_root: a JVM's perf-data file (named by its namespace pid) is then B's alone, as
# on two machines, and no JVM of another pid namespace deletes it for a pid that is not its own.
E2E_PERF_DIR=/tmp/hsperfdata_root
E2E_HOLDER_SCRIPT=": $E2E_MARK; mkdir -p $E2E_HOST_DIR $E2E_PERF_DIR && mount -t tmpfs -o size=16g,mode=0755 lm-e2e $E2E_HOST_DIR && mount -t tmpfs -o size=64m,mode=0755 lm-e2e-perf $E2E_PERF_DIR && while :; do sleep 3600 & wait; done"

# holder_pid UNSHARE-PID: the holder is the child unshare forks (its pid 1).
holder_pid() {
    local n=0 h
    while [ $n -lt 100 ]; do
        h=$(pgrep -P "$1" | head -n1)
        if [ -n "$h" ] && grep -q "$E2E_MARK" "/proc/$h/cmdline" 2>/dev/null; then
            echo "$h"
            return 0
        fi
        sleep 0.05
        n=$((n + 1))
    done
    return 1
}

# Removes lm-src and lm-dst (and lm-cli) with everything that runs in them (a crashed run's leftovers too).
netns_down() {
    local ns p n
    for ns in lm-cli lm-src lm-dst; do
        ip netns list 2>/dev/null | grep -qw "^$ns" || continue
        for n in 1 2 3 4 5 6 7 8 9 10; do
            p=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$p" ] && break
            kill -9 $p 2>/dev/null
            sleep 0.1
        done
        ip netns del "$ns" 2>/dev/null
    done
    ip link del lm-e2e-src 2>/dev/null
    ip link del lm-e2e-dst 2>/dev/null
    return 0
}

# Checks that a host prefix lands in a pid namespace of its own whose pid 1 is its holder.
check_holder() {
    local out
    out=$(on "$1" 'cat /proc/1/cmdline | tr "\0" " "; echo; readlink /proc/self/ns/pid; sh -c "echo \$\$"') || return 1
    echo "$out" | head -n1 | grep -q "$E2E_MARK" || { echo "e2e: pid 1 on '$1' is not its holder: $out" >&2; return 1; }
    [ "$(echo "$out" | sed -n 2p)" != "$(readlink /proc/self/ns/pid)" ] \
        || { echo "e2e: '$1' shares the driver's pid namespace" >&2; return 1; }
    [ "$(echo "$out" | sed -n 3p)" -lt 1000 ] || { echo "e2e: pids on '$1' are not namespace-local: $out" >&2; return 1; }
}

netns_up() {
    netns_down
    ip netns add lm-src && ip netns add lm-dst \
        && ip link add lm-e2e-src netns lm-src type veth peer name lm-e2e-dst netns lm-dst \
        && ip -n lm-src addr add $E2E_NET.1/24 dev lm-e2e-src \
        && ip -n lm-dst addr add $E2E_NET.2/24 dev lm-e2e-dst \
        && ip -n lm-src link set lo up && ip -n lm-dst link set lo up \
        && ip -n lm-src link set lm-e2e-src up && ip -n lm-dst link set lm-e2e-dst up \
        || { echo "e2e: cannot create the namespace hosts" >&2; return 1; }
    local ns u h
    for ns in lm-src lm-dst; do
        ip netns exec "$ns" setsid unshare --pid --mount --fork --mount-proc bash -c "$E2E_HOLDER_SCRIPT" \
            </dev/null >/dev/null 2>&1 &
        u=$!
        disown $u
        h=$(holder_pid "$u") || { echo "e2e: the holder of $ns did not start" >&2; return 1; }
        if [ "$ns" = lm-src ]; then E2E_SRC="nsenter -t $h -n -p -m"; else E2E_DST="nsenter -t $h -n -p -m"; fi
    done
    check_holder "$E2E_SRC" && check_holder "$E2E_DST" || return 1
    # Fresh pid namespaces hand out the same low pids on both hosts, and a JVM's threads take a few
    # dozen: on B the workloads start at 10000, so their pids are free on A, as on real machines.
    on "$E2E_SRC" 'echo 9999 > /proc/sys/kernel/ns_last_pid'
}

# The client host of the floating-address case (namespace hosts only): network namespace lm-cli
# (no holder: the driver runs the client there with ip netns exec) with a bridge lm-e2e-br holding
# the client's address $E2E_NET.3/24 and one veth to each host: lm-e2e-sc in lm-src, lm-e2e-dc in
# lm-dst. The hosts' ends carry no address of the /24, only a route to the client; the floating
# service address (E2E_FLOAT, a /32) is put on the end of the host that owns the service, and ARP
# on the bridge finds it there. lm-src and lm-dst keep their own link untouched.
E2E_FLOAT=$E2E_NET.100
E2E_CLI_ADDR=$E2E_NET.3
cli_up() {
    ip netns add lm-cli \
        && ip -n lm-cli link add lm-e2e-br type bridge \
        && ip link add lm-e2e-sc netns lm-src type veth peer name lm-e2e-cs netns lm-cli \
        && ip link add lm-e2e-dc netns lm-dst type veth peer name lm-e2e-cd netns lm-cli \
        && ip -n lm-cli link set lm-e2e-cs master lm-e2e-br && ip -n lm-cli link set lm-e2e-cd master lm-e2e-br \
        && ip -n lm-cli addr add $E2E_CLI_ADDR/24 dev lm-e2e-br \
        && ip -n lm-cli link set lo up && ip -n lm-cli link set lm-e2e-br up \
        && ip -n lm-cli link set lm-e2e-cs up && ip -n lm-cli link set lm-e2e-cd up \
        && ip -n lm-src link set lm-e2e-sc up && ip -n lm-dst link set lm-e2e-dc up \
        && ip -n lm-src route add $E2E_CLI_ADDR/32 dev lm-e2e-sc && ip -n lm-dst route add $E2E_CLI_ADDR/32 dev lm-e2e-dc \
        || { echo "e2e: cannot create the client host lm-cli" >&2; return 1; }
}

# --- hosts, either kind ---------------------------------------------------------------------

# Kills what an earlier case started on a host (pids recorded in $E2E_HOST_DIR/pids, checked
# against their command lines), then empties its working directory.
host_clean() {
    on "$1" "
        if [ -f $E2E_HOST_DIR/pids ]; then
            for p in \$(cat $E2E_HOST_DIR/pids); do
                if tr '\\0' ' ' < /proc/\$p/cmdline 2>/dev/null | grep -qE 'lazymig|lm-e2e|checksum-loop|e2e-churn'; then
                    kill -9 \$p 2>/dev/null
                fi
            done
        fi
        if mountpoint -q $E2E_HOST_DIR; then rm -rf $E2E_HOST_DIR/* 2>/dev/null; else rm -rf $E2E_HOST_DIR; fi
        mkdir -p $E2E_HOST_DIR"
}

hosts_up() {
    if [ "$E2E_MODE" = netns ]; then
        netns_up || return 1
    fi
    host_clean "$E2E_SRC" && host_clean "$E2E_DST"
}

hosts_down() {
    if [ "$E2E_MODE" = netns ]; then
        netns_down
        rmdir $E2E_HOST_DIR 2>/dev/null
    else
        host_clean "$E2E_SRC" >/dev/null 2>&1
        host_clean "$E2E_DST" >/dev/null 2>&1
    fi
    return 0
}

# sub_host_up HOST: a further host inside HOST's network: a holder with a PID and mount
# namespace (and a /tmp/lm-e2e) of its own, started through HOST. Prints its command prefix.
sub_host_up() {
    local u h
    u=$(on "$1" "mkdir -p $E2E_HOST_DIR; setsid unshare --pid --mount --fork --mount-proc bash -c '$E2E_HOLDER_SCRIPT' \
            </dev/null >/dev/null 2>&1 & echo \$! >> $E2E_HOST_DIR/pids; echo \$!") || return 1
    h=$(on "$1" "n=0; while [ \$n -lt 100 ]; do
            for c in \$(pgrep -P $u); do grep -q $E2E_MARK /proc/\$c/cmdline && { echo \$c; exit 0; }; done
            n=\$((n+1)); sleep 0.05; done; exit 1") || { echo "e2e: no holder under '$1'" >&2; return 1; }
    on "$1" "echo $h >> $E2E_HOST_DIR/pids"
    echo "$1 nsenter -t $h -p -m"
}

# --- processes on a host --------------------------------------------------------------------

# spawn HOST DIR NAME COMMAND: runs COMMAND (no single quotes) in the background on HOST in DIR,
# output to DIR/NAME.log, its pid to DIR/NAME.pid and, when it ends, its status to DIR/NAME.rc.
# Prints the pid.
spawn() {
    on "$1" "mkdir -p $2 && cd $2 && rm -f $3.pid $3.rc
        setsid sh -c '$4 & echo \$! > $3.pid; echo \$! >> $E2E_HOST_DIR/pids; wait \$!; echo \$? > $3.rc' </dev/null >$3.log 2>&1 &
        n=0; until [ -s $3.pid ]; do n=\$((n+1)); [ \$n -gt 100 ] && exit 1; sleep 0.05; done; cat $3.pid"
}

# rc_of HOST FILE: the status in an .rc file, or nothing while the process runs.
rc_of() {
    on "$1" "cat $2 2>/dev/null"
}

# wait_rc HOST FILE SECONDS: waits until the process of FILE (an .rc) has ended; prints its status.
wait_rc() {
    wait_on "$1" "$3" "[ -s $2 ]" && rc_of "$1" "$2"
}
