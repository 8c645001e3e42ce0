#!/bin/bash
# The lazy server under N unauthenticated garbage connections (issue 15's attacker measurement):
# dumps a checksum-loop of MIB MiB, serves it with 'lazy-pages --lazy-server' (a key file of its
# own), opens N connections PAR at a time, each sending random bytes, plausible and huge length
# prefixes, then fetches every lazy page with the right key and checks them against pages-*.img.
# Prints the server's RSS idle (after one real fetch), after the garbage and its peak (VmHWM).
#
# usage: it/bench/garbage-connections.sh [N=2000] [PAR=200] [MIB=64]   (as root, after make)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-2000}
par=${2:-200}
mib=${3:-64}
work=$(mktemp -d /tmp/lazymig-garbage.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# a session of its own, no inherited descriptors (dump refuses a pipe it cannot carry)
wpid=$(python3 -c 'import subprocess, sys
p = subprocess.Popen(sys.argv[1:3] + ["1000"], stdout=open(sys.argv[3], "w"), stdin=subprocess.DEVNULL,
                     stderr=subprocess.STDOUT, close_fds=True, start_new_session=True)
print(p.pid)' "$root/it/target/workloads/checksum-loop" "$mib" "$work/w.out")
until grep -q counter "$work/w.out" 2>/dev/null; do sleep 0.05; done
head -c 32 /dev/urandom > "$work/key"
"$root/lazymig" dump -t "$wpid" -D "$work/img" --auth-key "$work/key" > /dev/null
"$root/lazymig" lazy-pages --lazy-server -D "$work/img" --port "$port" --address 127.0.0.1 \
  --auth-key "$work/key" -v 2 > "$work/server.log" 2>&1 &
server=$!
until grep -q "serving process" "$work/server.log" 2>/dev/null; do
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.05
done
java_pid=$server
rss() { awk '/^VmRSS/ {print int($2/1024)}' "/proc/$java_pid/status"; }
hwm() { awk '/^VmHWM/ {print int($2/1024)}' "/proc/$java_pid/status"; }

fetch="$root/it/bench/fetch-all.py"
python3 "$fetch" 127.0.0.1 "$port" "$work/key" "$work/img" > "$work/fetch1.out"
idle=$(rss)
python3 - "$port" "$n" "$par" <<'EOF'
import os, random, socket, struct, sys, threading
port, n, par = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(15)
failed = []
def one(i):
    s = socket.socket()
    try:
        s.settimeout(30)
        s.connect(("127.0.0.1", port))
        kind = i % 3
        if kind == 0:
            data = os.urandom(rnd.randrange(1, 4096))
        elif kind == 1:   # a plausible header: HELLO with a length within the bound, then garbage
            data = struct.pack("<IHHQII", rnd.randrange(0, 4 << 20), 1, 0, 0, 0, 0) + os.urandom(200)
        else:             # a huge length prefix
            data = struct.pack("<IHHQII", 0xfffffff0, rnd.randrange(0, 70), 0, 0, 0, 0)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    except OSError as e:
        failed.append(type(e).__name__)
    finally:
        s.close()
for start in range(0, n, par):
    ts = [threading.Thread(target=one, args=(i,)) for i in range(start, min(n, start + par))]
    for t in ts: t.start()
    for t in ts: t.join()
if failed:
    print("garbage connections that failed on the client's side: %d (%s)" % (len(failed), ", ".join(sorted(set(failed)))))
EOF
after=$(rss)
python3 "$fetch" 127.0.0.1 "$port" "$work/key" "$work/img" > "$work/fetch2.out"
echo "connections: $n garbage ($par at a time); fetch before: $(cat "$work/fetch1.out"); after: $(cat "$work/fetch2.out")"
echo "server RSS: idle ${idle} MiB, after the garbage $(rss) MiB (measured right after: ${after} MiB), peak $(hwm) MiB"
echo "warnings in the server's log: $(grep -c WARN "$work/server.log" || true); first: $(grep -m1 WARN "$work/server.log" || true)"
