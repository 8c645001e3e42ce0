#!/usr/bin/env python3
"""Fetches every lazy page of a checkpoint from a lazy server, authenticated with KEY, and compares
each with the dump's pages-N.img (garbage-connections.sh's real client). Prints 'N pages byte-exact'
or exits 1 with the first difference.

usage: fetch-all.py HOST PORT KEYFILE IMAGEDIR
"""
import hashlib
import hmac
import json
import os
import socket
import struct
import subprocess
import sys

MAGIC, VERSION, HELLO, CHALLENGE, AUTH, WELCOME, ERROR, GET_PAGES, PAGES, BYE = 0x474D5A4C, 1, 1, 2, 3, 4, 5, 10, 11, 50
PAGE = 4096
CHUNK_PAGES = 256


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def send(s, ftype, fid, payload=b""):
    s.sendall(struct.pack("<IHHQII", len(payload), ftype, 0, fid, crc32c(payload) if payload else 0, 0) + payload)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("fetch-all: the server closed the connection")
        buf += chunk
    return bytes(buf)


def recv(s):
    length, ftype, _flags, fid, _crc, _ = struct.unpack("<IHHQII", recv_exact(s, 24))
    payload = recv_exact(s, length)
    if ftype == ERROR:
        raise SystemExit("fetch-all: server refused: " + payload[4:].decode(errors="replace"))
    return ftype, fid, payload


def main():
    host, port, keyfile, images = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    key = open(keyfile, "rb").read()
    s = socket.create_connection((host, port), timeout=60)
    cnonce = os.urandom(32)
    send(s, HELLO, 0, struct.pack("<IHHI", MAGIC, VERSION, 1, 0) + cnonce)
    ftype, _, p = recv(s)
    assert ftype == CHALLENGE, ftype
    snonce, sproof = p[8:40], p[40:72]
    if not hmac.compare_digest(sproof, hmac.new(key, b"lazymig-server" + cnonce + snonce, hashlib.sha256).digest()):
        raise SystemExit("fetch-all: the server holds another key")
    send(s, AUTH, 0, hmac.new(key, b"lazymig-client" + snonce + cnonce, hashlib.sha256).digest())
    ftype, _, p = recv(s)
    assert ftype == WELCOME, ftype
    pid = struct.unpack("<i", p[:4])[0]
    pm_file = [f for f in os.listdir(images) if f.startswith("pagemap-")][0]
    pm = json.loads(subprocess.run(["crit", "decode", "--pretty", "-i", os.path.join(images, pm_file)], check=True,
                                   capture_output=True).stdout)["entries"]
    pages_file = open(os.path.join(images, "pages-%d.img" % pm[0]["pages_id"]), "rb")
    offset = 0
    fetched = 0
    fid = 0
    for e in pm[1:]:
        vaddr, nr, flags = int(e["vaddr"], 16), e["nr_pages"], e.get("flags", "")
        if "PE_PRESENT" not in flags:
            continue
        if "PE_LAZY" in flags:
            for first in range(0, nr, CHUNK_PAGES):
                count = min(CHUNK_PAGES, nr - first)
                fid += 1
                send(s, GET_PAGES, fid, struct.pack("<IQI", pid, vaddr + first * PAGE, count))
                ftype, rid, p = recv(s)
                assert ftype == PAGES and rid == fid, (ftype, rid, fid)
                rpid, raddr, rcount = struct.unpack("<IQI", p[:16])
                pages_file.seek(offset + first * PAGE)
                want = pages_file.read(count * PAGE)
                if (raddr, rcount) != (vaddr + first * PAGE, count) or p[16:] != want:
                    raise SystemExit("fetch-all: pages at 0x%x differ from the dump's" % (vaddr + first * PAGE))
                fetched += count
        offset += nr * PAGE
    send(s, BYE, fid + 1)
    s.close()
    print("%d pages byte-exact" % fetched)


main()
