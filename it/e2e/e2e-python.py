# e2e-python: the checksum-loop of the e2e cases in Python 3. Fills MIB MiB of a bytearray and a
# list of Python integers from a seeded generator once, then every INTERVAL_MS prints
# "pid P counter N sum HEX t MS": the checksum (BLAKE2b) of all of it never changes, the counter
# does. The driver passes this file to the interpreter with -c, so no file is needed on a host.
# usage: python3 -c "$(cat e2e-python.py)" [MIB [INTERVAL_MS]]
import hashlib
import os
import random
import sys
import time

mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
interval = (int(sys.argv[2]) if len(sys.argv) > 2 else 200) / 1000.0
rng = random.Random(0x2545F4914F6CDD1D)
data = bytearray(rng.randbytes(mib << 20))
numbers = [rng.getrandbits(64) for _ in range(200_000)]
counter = 0
while True:
    h = hashlib.blake2b(data, digest_size=8)
    h.update(b"".join(n.to_bytes(8, "little") for n in numbers))
    now = int(time.monotonic() * 1000)
    print(f"pid {os.getpid()} counter {counter} sum {h.hexdigest()} t {now}", flush=True)
    counter += 1
    time.sleep(interval)
