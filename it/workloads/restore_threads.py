#!/usr/bin/python3
"""restore_threads: python3 with threading.Threads, for restoring threads. Fills MIB MiB once and
starts WORKERS threads ("worker-I"), each stepping its own SHA-256 chain and sleeping 1 ms every
step. Every INTERVAL ms the main thread checks each worker's (steps, digest) by stepping its own
copy of the chain forward, then prints "pid P counter N sum HEX verified V" (sum: CRC-32 and
Adler-32 of the buffer; V: chain steps checked so far). A wrong chain prints "MISMATCH ..." and
exits 2.

usage: restore_threads.py [MIB [INTERVAL_MS [WORKERS]]]
"""
import hashlib
import os
import random
import sys
import threading
import time
import zlib


class Worker:
    def __init__(self, index):
        self.lock = threading.Lock()
        self.steps = 0
        self.digest = hashlib.sha256(b"worker %d" % index).digest()
        self.thread = threading.Thread(target=self.run, name="worker-%d" % index, daemon=True)

    def run(self):
        while True:
            with self.lock:
                self.digest = hashlib.sha256(self.digest).digest()
                self.steps += 1
            time.sleep(0.001)

    def published(self):
        with self.lock:
            return self.steps, self.digest


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    interval = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    data = bytearray(random.Random(20240611).randbytes(mib << 20))
    workers = [Worker(i) for i in range(count)]
    mirrors = [(0, w.digest) for w in workers]
    for w in workers:
        w.thread.start()
    verified = 0
    counter = 0
    while True:
        for i, w in enumerate(workers):
            steps, digest = w.published()
            done, mine = mirrors[i]
            if steps < done:
                print("MISMATCH worker %d went back from %d to %d steps" % (i, done, steps), flush=True)
                sys.exit(2)
            for _ in range(steps - done):
                mine = hashlib.sha256(mine).digest()
            if mine != digest:
                print("MISMATCH worker %d at step %d" % (i, steps), flush=True)
                sys.exit(2)
            verified += steps - done
            mirrors[i] = (steps, mine)
        view = memoryview(data)
        h = (zlib.crc32(view) << 32) | zlib.adler32(view)
        sys.stdout.write("pid %d counter %d sum %016x verified %d\n" % (os.getpid(), counter, h, verified))
        sys.stdout.flush()
        counter += 1
        time.sleep(interval / 1000)


if __name__ == "__main__":
    main()
