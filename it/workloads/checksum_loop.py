#!/usr/bin/python3
"""checksum_loop.py: the python3 twin of checksum-loop.c. Fills a bytearray of MIB MiB with
pseudo-random data once, then every INTERVAL ms prints "pid P counter N sum HEX t MS": a checksum
of the data (which never changes), a counter (which does) and CLOCK_MONOTONIC in ms. A dumped and
restored interpreter must print the same sum and go on counting. The checksum also reads 16 pages of
a private anonymous mapping that is never written: they map the shared zero page, which a dump skips.

usage: checksum_loop.py [MIB [INTERVAL_MS]]
"""
import hashlib
import mmap
import os
import random
import sys
import time


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    interval = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    data = bytearray(random.Random(0x2545F4914F6CDD1D).randbytes(mib << 20))
    zeros = mmap.mmap(-1, 16 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE)
    counter = 0
    while True:
        h = hashlib.blake2b(data, digest_size=8)
        h.update(zeros)
        digest = h.hexdigest()
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000_000
        print(f"pid {os.getpid()} counter {counter} sum {digest} t {now}", flush=True)
        counter += 1
        time.sleep(interval / 1000)


if __name__ == "__main__":
    main()
