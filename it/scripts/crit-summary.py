#!/usr/bin/python3
"""crit-summary.py: runs `crit decode` on every image of a dump directory (all *.img but the raw
pages-*.img and lazymig's own carried-files.img and flocks.img) and prints what the tests compare, one record per line, numbers in lower-case hex:

  decoded FILE                                  crit decoded FILE
  pstree PID PPID PGID SID THREAD,...
  core TID TASK_STATE COMM                      COMM is the rest of the line
  thread TID BLK_SIGSET NAME                    thread_core of core-TID.img; NAME is the rest of the line
  regs KIND NAME,...                            KIND gpregs/fpregs/xsave: the fields crit shows
  gpreg NAME VALUE
  mm NAME VALUE                                 scalar mm_entry fields
  auxv WORD,...                                 mm_saved_auxv
  vma START END PROT FLAGS STATUS PGOFF
  fd FD TYPE FILE_ID FD_FLAGS OPEN_FLAGS POS PATH   fdinfo joined with files.img (PATH: rest of line)
  file ROLE PATH                                ROLE exe, cwd or root
  umask VALUE
  pmap VADDR NR_PAGES FLAGS

Exit status 1 with the failing command and its output when crit fails on any image.

usage: crit-summary.py [--crit "COMMAND"] DIR     (default COMMAND: crit; e.g. "criu-reference crit")
"""
import glob
import json
import os
import shlex
import subprocess
import sys

# lazymig's own images, which CRIU and crit do not know (carried files, flock locks).
LAZYMIG_OWN = {"carried-files.img", "flocks.img"}


def decode(crit, path):
    r = subprocess.run(crit + ["decode", "-i", path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"crit decode failed for {path} (exit {r.returncode}): {(r.stderr or r.stdout).strip()}")
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        sys.exit(f"crit decode of {path} printed no JSON ({e}): {r.stdout[:200]}")


def h(v):
    return format(v & 0xFFFFFFFFFFFFFFFF, "x")


def main():
    args = sys.argv[1:]
    crit = ["crit"]
    if len(args) >= 2 and args[0] == "--crit":
        crit = shlex.split(args[1])
        args = args[2:]
    if len(args) != 1:
        sys.exit(__doc__.strip().splitlines()[-1])
    d = os.path.abspath(args[0])
    images = {}
    for path in sorted(glob.glob(os.path.join(d, "*.img"))):
        name = os.path.basename(path)
        if name.startswith("pages-") or name in LAZYMIG_OWN:
            continue
        images[name] = decode(crit, path)
        print("decoded", name)
    out = []
    for e in images.get("pstree.img", {}).get("entries", []):
        out.append(f"pstree {h(e['pid'])} {h(e['ppid'])} {h(e['pgid'])} {h(e['sid'])} "
                   + ",".join(h(t) for t in e.get("threads", [])))
    for name, img in images.items():
        if name.startswith("core-"):
            c = img["entries"][0]
            tc = c.get("tc", {})
            out.append(f"core {name[5:-4]} {h(tc.get('task_state', 0))} {tc.get('comm', '')}")
            th = c.get("thread_core", {})
            out.append(f"thread {name[5:-4]} {h(th.get('blk_sigset', 0))} {th.get('comm', '')}")
            ti = c.get("thread_info", {})
            gp = ti.get("gpregs", {})
            fp = ti.get("fpregs", {})
            out.append("regs gpregs " + ",".join(gp))
            out.append("regs fpregs " + ",".join(fp))
            out.append("regs xsave " + ",".join(fp.get("xsave", {})))
            for k, v in gp.items():
                if isinstance(v, int):
                    out.append(f"gpreg {k} {h(v)}")
        elif name.startswith("mm-"):
            mm = img["entries"][0]
            for k, v in mm.items():
                if isinstance(v, int) and not isinstance(v, bool):
                    out.append(f"mm {k} {h(v)}")
            out.append("auxv " + ",".join(h(x) for x in mm.get("mm_saved_auxv", [])))
            for v in mm.get("vmas", []):
                out.append(f"vma {h(v['start'])} {h(v['end'])} {h(v['prot'])} {h(v['flags'])} {h(v['status'])} "
                           f"{h(v['pgoff'])}")
        elif name.startswith("pagemap-"):
            for e in img["entries"][1:]:
                out.append(f"pmap {h(e['vaddr'])} {h(e['nr_pages'])} {h(e.get('flags', 4))}")
    files = {e["id"]: e for e in images.get("files.img", {}).get("entries", [])}

    def path(file_id):
        e = files.get(file_id, {})
        return e.get("reg", {}).get("name", "?" + e.get("type", "missing"))

    for name, img in images.items():
        if name.startswith("fdinfo-"):
            for e in img["entries"]:
                f = files.get(e["id"], {})
                reg = f.get("reg", {})
                out.append(f"fd {h(e['fd'])} {e['type']} {h(e['id'])} {h(e['flags'])} {h(reg.get('flags', 0))} "
                           f"{h(reg.get('pos', 0))} {path(e['id'])}")
        elif name.startswith("fs-"):
            fs = img["entries"][0]
            out.append(f"file cwd {path(fs['cwd_id'])}")
            out.append(f"file root {path(fs['root_id'])}")
            out.append(f"umask {h(fs.get('umask', 0))}")
        elif name.startswith("mm-"):
            out.append(f"file exe {path(img['entries'][0]['exe_file_id'])}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
