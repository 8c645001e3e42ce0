#!/usr/bin/python3
"""restore_python: the checksum loop in Python, for restoring an interpreter (many shared
libraries, its own allocator). Fills MIB MiB once with seeded pseudo-random bytes, then every
INTERVAL ms prints "pid P counter N sum HEX t MS" (sum: CRC-32 and Adler-32 of the buffer).

usage: restore_python.py [MIB [INTERVAL_MS]]
"""
import os
import random
import sys
import time
import zlib


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    interval = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    data = bytearray(random.Random(20240611).randbytes(mib << 20))
    counter = 0
    while True:
        view = memoryview(data)
        h = (zlib.crc32(view) << 32) | zlib.adler32(view)
        t = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000_000
        sys.stdout.write("pid %d counter %d sum %016x t %d\n" % (os.getpid(), counter, h, t))
        sys.stdout.flush()
        counter += 1
        time.sleep(interval / 1000)


if __name__ == "__main__":
    main()
