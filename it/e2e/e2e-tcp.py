# e2e-tcp.py: the floating-address case's programs (run with python3; e2e.sh passes it as base64).
#
#   server PORT [HOLD [BIND]]  the migrated service: listens on BIND:PORT (default 0.0.0.0; an
#                          IPv6 address makes it an IPv6 listener), serves one connection:
#                          for every record "c N" it reads, checks N is the next one (each once, in
#                          order) and answers "s N"; prints "pid P listening", "pid P connection
#                          from A:P", and "pid P BAD ..." on any gap, doubling or damage, then exits.
#                          While the file HOLD exists it reads nothing (records wait in its queue;
#                          "-": no hold file).
#   client ADDR PORT STOP  the long-lived client: one connection, never another; sends "c 1", "c 2",
#                          ... every 5 ms (without waiting for the answers) and checks that the
#                          answers are "s 1", "s 2", ...; prints "records N" every 100 answers and
#                          the longest wait for an answer. When the file STOP exists it stops
#                          sending, waits for every answer, prints "ok: N records each way, one
#                          connection from local port P, longest stall S s" and exits 0; any error
#                          (reset, end of file, a wrong record) prints "FAIL ..." and exits 1.
#   garp IFACE ADDR        sends a gratuitous ARP for ADDR from IFACE (what keepalived does when a
#                          floating address moves), so the client's neighbour table follows it.
import os
import select
import socket
import struct
import sys
import time


def server(port, hold=None, bind="0.0.0.0"):
    pid = os.getpid()
    if hold == "-":
        hold = None
    ls = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((bind, port))
    ls.listen(4)
    print("pid %d listening on %d" % (pid, port), flush=True)
    conn, peer = ls.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("pid %d connection from %s:%d" % (pid, peer[0], peer[1]), flush=True)
    expected = 1
    buf = b""
    while True:
        while hold and os.path.exists(hold):
            time.sleep(0.01)
        data = conn.recv(65536)
        if not data:
            print("pid %d end of file after %d records" % (pid, expected - 1), flush=True)
            return 0
        buf += data
        out = []
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            want = b"c %d" % expected
            if line != want:
                print("pid %d BAD record %r, expected %r" % (pid, line, want), flush=True)
                conn.sendall(b"BAD\n")
                return 1
            out.append(b"s %d\n" % expected)
            if expected % 1000 == 0:
                print("pid %d records %d" % (pid, expected), flush=True)
            expected += 1
        if out:
            conn.sendall(b"".join(out))


def client(addr, port, stop):
    s = socket.create_connection((addr, port), timeout=10)
    s.settimeout(None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    local = s.getsockname()[1]
    print("connected from local port %d to %s:%d" % (local, addr, port), flush=True)
    s.setblocking(False)
    sent = 0
    got = 0
    buf = b""
    pending = b""
    last_answer = time.monotonic()
    longest = 0.0
    next_send = time.monotonic()
    stopping = False
    while True:
        now = time.monotonic()
        if not stopping and os.path.exists(stop):
            stopping = True
            print("stopping after %d records sent" % sent, flush=True)
        if not stopping and now >= next_send:
            sent += 1
            pending += b"c %d\n" % sent
            next_send = now + 0.005
        if stopping and got == sent and not pending:
            print("ok: %d records each way, one connection from local port %d, longest stall %.1f s"
                  % (got, local, longest), flush=True)
            s.close()
            return 0
        r, w, _ = select.select([s], [s] if pending else [], [], 0.005)
        if w:
            try:
                n = s.send(pending)
                pending = pending[n:]
            except BlockingIOError:
                pass
        if r:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                print("FAIL: end of file after %d answers (%d sent)" % (got, sent), flush=True)
                return 1
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                want = b"s %d" % (got + 1)
                if line != want:
                    print("FAIL: answer %r, expected %r" % (line, want), flush=True)
                    return 1
                got += 1
                t = time.monotonic()
                longest = max(longest, t - last_answer)
                last_answer = t
                if got % 100 == 0:
                    print("records %d" % got, flush=True)


def garp(iface, addr):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    mac = s.getsockname()[4]
    ip = socket.inet_aton(addr)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ip, b"\x00" * 6, ip)
    frame = b"\xff" * 6 + mac + b"\x08\x06" + arp
    s.send(frame + b"\x00" * (60 - len(frame)))
    s.close()
    return 0


if __name__ == "__main__":
    try:
        if sys.argv[1] == "server":
            sys.exit(server(int(sys.argv[2]), *sys.argv[3:5]))
        elif sys.argv[1] == "client":
            sys.exit(client(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
        elif sys.argv[1] == "garp":
            sys.exit(garp(sys.argv[2], sys.argv[3]))
        sys.exit("usage: e2e-tcp.py server PORT [HOLD [BIND]] | client ADDR PORT STOP | garp IFACE ADDR")
    except OSError as e:
        print("FAIL: %s" % e, flush=True)
        sys.exit(1)
