# A small redis load for make e2e's migrate-redis-load (passed to python3 -c, so no host needs the
# file). Speaks RESP itself over a plain socket; every command has a 2 s timeout.
#
#   load DIR PORT ADDR...: SETs key-N (N = 1, 2, ...) to a value derived from N, and GETs an earlier
#       acknowledged key every 4th round, 1 ms apart (a small load), until DIR/stop exists. Each write acknowledged
#       with +OK is appended to DIR/acked.txt as "N ADDR" (flushed before the next command). On any
#       error (reset, end-of-file, timeout, refused) it reconnects, trying ADDR... in turn (each must
#       answer PING), and logs the error; the write it was sending is not acknowledged then, and the
#       next key follows. A GET of an acknowledged key that answers another value than the one acknowledged is a "LOST" line: the
#       run ends with status 1. Prints one line per 200 acknowledged writes and one per reconnect.
#   verify DIR PORT ADDR: GETs every key of DIR/acked.txt at ADDR; prints "verified N keys" or one
#       "LOST key-N ..." line per missing or changed key, and exits 1 then.
import os
import socket
import sys
import time


def value(n):
    return f'value-{n}-' + 'x' * (n % 97)


def command(*args):
    out = [f'*{len(args)}\r\n'.encode()]
    for a in args:
        b = a.encode()
        out.append(b'$%d\r\n%s\r\n' % (len(b), b))
    return b''.join(out)


class Conn:
    def __init__(self, addr, port):
        self.sock = socket.create_connection((addr, port), timeout=2)
        self.sock.settimeout(2)
        self.buf = b''

    def line(self):
        while b'\r\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('end of file')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('end of file')
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def call(self, *args):
        self.sock.sendall(command(*args))
        line = self.line()
        if line.startswith(b'$'):
            n = int(line[1:])
            return None if n < 0 else self.exact(n).decode()
        if line.startswith(b'-'):
            raise RuntimeError('redis error: ' + line.decode())
        return line.decode()

    def close(self):
        self.sock.close()


def connect(addrs, port, start, stop):
    """The first address of addrs (from index start, round robin) that answers PING; waits while none
    does; None once the stop file exists."""
    i = start
    while not os.path.exists(stop):
        addr = addrs[i % len(addrs)]
        try:
            c = Conn(addr, port)
            c.call('PING')
            return c, i % len(addrs)
        except OSError:
            i += 1
            time.sleep(0.05)
    return None, start


def load(d, port, addrs):
    acked = open(os.path.join(d, 'acked.txt'), 'a')
    stop = os.path.join(d, 'stop')
    c, at = connect(addrs, port, 0, stop)
    print(f'connected to {addrs[at]}:{port}', flush=True)
    n = 0
    done = {}
    written = set()
    gets = 0
    last_ack = None
    gap_from = None
    while c is not None and not os.path.exists(stop):
        n += 1
        try:
            if c.call('SET', f'key-{n}', value(n)) != '+OK':
                raise RuntimeError(f'SET key-{n} not acknowledged')
            acked.write(f'{n} {addrs[at]}\n')
            acked.flush()
            written.add(n)
            now = time.monotonic()
            if gap_from is not None:
                print(f'first write acknowledged after the reconnect: at {addrs[at]}, {now - gap_from:.3f} s after the '
                      'last one before the error', flush=True)
                gap_from = None
            last_ack = now
            done[addrs[at]] = done.get(addrs[at], 0) + 1
            if n % 4 == 0:
                k = max(1, n - 50)
                got = c.call('GET', f'key-{k}')
                gets += 1
                if k in written and got != value(k):
                    print(f'LOST key-{k}: GET gave {got!r}', flush=True)
                    sys.exit(1)
            if sum(done.values()) % 200 == 0:
                print(f'acked {sum(done.values())} ' + ' '.join(f'{a}={m}' for a, m in done.items()), flush=True)
            time.sleep(0.001)
        except (OSError, ConnectionError) as e:
            print(f'write key-{n} at {addrs[at]}: {type(e).__name__} {e}: reconnecting', flush=True)
            if gap_from is None:
                gap_from = last_ack
            c.close()
            c, at = connect(addrs, port, at, stop)
            if c is not None:
                print(f'connected to {addrs[at]}:{port}', flush=True)
    print(f'stopped: acked {sum(done.values())} ' + ' '.join(f'{a}={m}' for a, m in done.items()) + f', {gets} gets',
          flush=True)


def verify(d, port, addr):
    c = Conn(addr, port)
    keys = [int(line.split()[0]) for line in open(os.path.join(d, 'acked.txt')) if line.strip()]
    lost = 0
    for n in keys:
        got = c.call('GET', f'key-{n}')
        if got != value(n):
            lost += 1
            if lost <= 20:
                print(f'LOST key-{n}: GET at {addr} gave {got!r}')
    if lost or not keys:
        print(f'{lost} of {len(keys)} acknowledged writes lost')
        sys.exit(1)
    print(f'verified {len(keys)} keys')


if __name__ == '__main__':
    mode, directory, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == 'load':
        load(directory, port, sys.argv[4:])
    else:
        verify(directory, port, sys.argv[4])
