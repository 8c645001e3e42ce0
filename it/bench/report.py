#!/usr/bin/env python3
"""report.py OUT [options]: turns bench.sh's raw results (OUT/raw/rN/...) into OUT/report.json,
OUT/report.md and two SVG charts: the fault-latency CDF and pages in over time by kind.

Every figure is a median over the runs, with min and max; every ratio is taken within a run
(figure and baseline of the same run) and then summarised the same way. A goal that is missed is
marked NO: the report says what the code does, the benchmark is not tuned to the goals."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

TICK_MS = 20  # bench-touch's tick: downtime is the gap between ticks less one tick
GIB = 1 << 30

GOALS = {  # key: (op, goal, what it means)
    "fault_p50_vs_floor": ("<=", 1.3),
    "fault_p99_vs_floor": ("<=", 2.5),
    "background_vs_raw_tcp": (">=", 0.9),
    "heavy_vs_idle": (">=", 0.8),
    "resume_4g_vs_256m": ("<=", 1.2),
    "first_pass_vs_raw_tcp": ("<=", 1.3),
    "downtime_vs_criu": ("<=", 0.5),
    "downtime_vs_criu_64m": ("<=", 0.5),
    "downtime_vs_criu_1g": ("<=", 0.5),
    "downtime_4g_vs_64m": ("<=", 1.2),
    "downtime_8threads_vs_1": ("<=", 1.2),
    "downtime_tree4_vs_single": ("<=", 1.3),
    "downtime_tree4_vs_single_64m": ("<=", 1.3),
    "downtime_tree4_vs_single_1g": ("<=", 1.3),
    "fault_p50_8threads_vs_1": ("<=", 1.2),
    "fault_p99_8threads_vs_1": ("<=", 1.2),
    "downtime_100threads_vs_1": ("<=", 1.2),
    "downtime_100threads_vs_criu": ("<=", 0.5),
    "fault_p50_under_background_vs_floor": ("<=", 1.5),
    "fault_p99_under_background_vs_floor": ("<=", 3.0),
    "fault_p50_under_background_vs_floor@1ms": ("<=", 1.5),
    "fault_p99_under_background_vs_floor@1ms": ("<=", 3.0),
    "fault_p50_under_background_vs_floor@10ms": ("<=", 1.5),
    "fault_p99_under_background_vs_floor@10ms": ("<=", 3.0),
    "encrypted_background_vs_plain": (">=", 0.8),
    "tree_cow_memory_on_a_vs_shared": ("<=", 1.1),
}
FLOWS = ("seed", "prestarted", "migrate", "migrate-8t", "migrate-100t", "migrate-tree4", "criu")  # bench.sh's effective-downtime flows


def load_run(d):
    """One run directory: {name: {"meta": {...}, "stats": {...}, "result": {...}}}."""
    run = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if not os.path.isdir(p):
            continue
        e = {}
        if os.path.exists(os.path.join(p, "meta")):
            e["meta"] = dict(line.strip().split("=", 1) for line in open(os.path.join(p, "meta")) if "=" in line)
        for key, f in (("stats", "stats.json"), ("result", "result.json"), ("uffd", "uffd.json"), ("service", "service.json"),
                       ("rtt", "rtt.json"), ("stream", "stream.json")):
            fp = os.path.join(p, f)
            if os.path.exists(fp) and os.path.getsize(fp) > 0:
                try:
                    e[key] = json.load(open(fp))
                except json.JSONDecodeError as ex:
                    raise SystemExit(f"report: {fp}: not JSON: {ex}")
        run[name] = e
    return run


def num(meta, key):
    v = meta.get(key, "")
    return float(v) if v not in ("", None) else None


def mbps(stats):
    return stats["bytes"] / 1e6 / stats["duration_s"] if stats and stats["duration_s"] > 0 else None


def downtime_ms(meta):
    a, b = num(meta, "first_tick_a"), num(meta, "last_tick_b")
    return a - b - TICK_MS if a is not None and b is not None else None


def encryption_figures(run, big, f):
    """The cost of encryption (rtt 0): the plain-* runs (--no-encryption) against the default, encrypted ones."""
    plain = run.get(f"plain-idle-{big}", {})
    if plain.get("stats"):
        f["plain_background_idle_mb_per_s"] = mbps(plain["stats"])
        if "background_idle_mb_per_s" in f:
            f["encrypted_background_vs_plain"] = f["background_idle_mb_per_s"] / f["plain_background_idle_mb_per_s"]
    pf = run.get("plain-fault", {}).get("result")
    if pf:
        for k in ("p50_us", "p99_us"):
            f["plain_fault_" + k] = pf.get("fault_" + k, pf[k])
            if "fault_" + k in f:
                f["encrypted_fault_" + k.split("_")[0] + "_vs_plain"] = f["fault_" + k] / f["plain_fault_" + k]


def run_figures(run, big, sizes, rtts):
    """Every figure and ratio of one run, flat: {key: value}; missing parts are left out."""
    f = {}
    base0 = run.get("baseline-0", {})
    uffd_p50 = base0.get("uffd", {}).get("p50_us")
    uffd_p99 = base0.get("uffd", {}).get("p99_us")
    for rtt in rtts:
        sfx = "" if rtt == 0 else f"@{rtt // 1000}ms"
        base = run.get(f"baseline-{rtt}", {})
        if uffd_p50 is not None and "rtt" in base:
            # the floor is a distribution too: p50 against its p50, p99 against its p99
            f["floor_us" + sfx] = uffd_p50 + base["rtt"]["p50_us"]
            f["floor_p99_us" + sfx] = uffd_p99 + base["rtt"]["p99_us"]
            f["tcp_rtt_4k_p50_us" + sfx] = base["rtt"]["p50_us"]
            if rtt == 0:
                f["uffd_fault_p50_us"], f["uffd_fault_p99_us"] = uffd_p50, uffd_p99
        raw = base.get("stream", {}).get("mb_per_s")
        if raw:
            f["raw_tcp_mb_per_s" + sfx] = raw
        fault = run.get(f"fault-{rtt}", {}).get("result")
        if fault:
            for k in ("p50_us", "p90_us", "p99_us", "max_us"):
                f["fault_" + k + sfx] = fault.get("fault_" + k, fault[k])  # the touches that faulted
            f["fault_pages" + sfx] = fault["pages"]
            if "floor_us" + sfx in f:
                f["fault_p50_vs_floor" + sfx] = f["fault_p50_us" + sfx] / f["floor_us" + sfx]
                f["fault_p99_vs_floor" + sfx] = f["fault_p99_us" + sfx] / f["floor_p99_us" + sfx]
                f["fault_p99_vs_floor_p50" + sfx] = f["fault_p99_us" + sfx] / f["floor_us" + sfx]
        bg = run.get(f"faultbg-{rtt}", {})
        if bg.get("result"):
            res = bg["result"]
            f["fault_bg_p50_us" + sfx] = res.get("fault_p50_us", res["p50_us"])
            f["fault_bg_p99_us" + sfx] = res.get("fault_p99_us", res["p99_us"])
            f["fault_bg_faults" + sfx] = res.get("faults", res.get("pages"))
            if "floor_us" + sfx in f:
                f["fault_p50_under_background_vs_floor" + sfx] = f["fault_bg_p50_us" + sfx] / f["floor_us" + sfx]
                f["fault_p99_under_background_vs_floor" + sfx] = f["fault_bg_p99_us" + sfx] / f["floor_p99_us" + sfx]
        if bg.get("stats"):
            st = bg["stats"]
            f["fault_bg_daemon_p50_us" + sfx] = st["fault_latency_us"]["p50"]
            f["fault_bg_daemon_p99_us" + sfx] = st["fault_latency_us"]["p99"]
            f["fault_bg_daemon_waits" + sfx] = st["faults"]
            f["background_under_faults_mb_per_s" + sfx] = mbps(st)
        idle = run.get(f"idle-{big}-{rtt}", {})
        if idle.get("stats"):
            f["background_idle_mb_per_s" + sfx] = mbps(idle["stats"])
            if raw:
                f["background_vs_raw_tcp" + sfx] = f["background_idle_mb_per_s" + sfx] / raw
            f["total_lazy_ms" + sfx] = idle["stats"]["end_epoch_ms"] - num(idle["meta"], "last_tick_b")
            f["downtime_lazy_ms" + sfx] = downtime_ms(idle["meta"])
        heavy = run.get(f"heavy-{rtt}", {})
        if heavy.get("stats"):
            f["background_heavy_mb_per_s" + sfx] = mbps(heavy["stats"])
            if idle.get("stats"):
                f["heavy_vs_idle" + sfx] = f["background_heavy_mb_per_s" + sfx] / f["background_idle_mb_per_s" + sfx]
        if heavy.get("result"):
            f["random_pass_s" + sfx] = heavy["result"]["pass_s"]
        if rtt == 0:
            encryption_figures(run, big, f)
        p = run.get(f"pass-{rtt}", {}).get("result")
        if p:
            f["first_pass_s" + sfx] = p["pass_s"]
            if raw:
                f["raw_tcp_pass_s" + sfx] = big * (1 << 20) / 1e6 / raw
                f["first_pass_vs_raw_tcp" + sfx] = p["pass_s"] / f["raw_tcp_pass_s" + sfx]
        eager = run.get(f"eager-{big}-{rtt}", {}).get("meta")
        if eager:
            f["total_eager_ms" + sfx] = downtime_ms(eager) + TICK_MS
            if "total_lazy_ms" + sfx in f:
                f["total_vs_eager" + sfx] = f["total_lazy_ms" + sfx] / f["total_eager_ms" + sfx]
    for mib in sizes:
        # served from the frozen process (idle-) and from image files (files-)
        for run_name, downtime_key, server_key in (("idle", "downtime_lazy", "server_peak_rss"),
                                                   ("files", "downtime_files", "server_files_peak_rss")):
            meta = run.get(f"{run_name}-{mib}-0", {}).get("meta")
            if meta:
                f[f"{downtime_key}_{mib}m_ms"] = downtime_ms(meta)
                srv = num(meta, "server_peak_rss_kib")
                if srv:
                    f[f"{server_key}_{mib}m_mib"] = srv / 1024
        lazy = run.get(f"idle-{mib}-0", {})
        if lazy.get("stats") and lazy["stats"].get("peak_rss_kib", -1) > 0:
            f[f"daemon_peak_rss_{mib}m_mib"] = lazy["stats"]["peak_rss_kib"] / 1024
        eager = run.get(f"eager-{mib}-0", {}).get("meta")
        if eager:
            f[f"downtime_eager_{mib}m_ms"] = downtime_ms(eager)
            rms = num(eager, "restorer_ms")
            if rms:
                f[f"eager_restore_{mib}m_mb_per_s"] = num(eager, "dump_bytes") / 1e6 / (rms / 1000)
    lo, hi = f"downtime_lazy_{min(sizes)}m_ms", f"downtime_lazy_{max(sizes)}m_ms"
    if lo in f and hi in f:
        f["resume_4g_vs_256m"] = f[hi] / f[lo]
    frozen = [num(e["meta"], "frozen_ms") / (num(e["meta"], "dump_bytes") / GIB)
              for e in run.values() if e.get("meta") and num(e["meta"], "frozen_ms") and num(e["meta"], "dump_bytes")
              and num(e["meta"], "dump_bytes") >= 256 << 20]
    if frozen:
        f["dump_frozen_ms_per_gib"] = statistics.median(frozen)
    # CRIU, same workloads, no added latency. CRIU's background pass cannot be held back, so most
    # of its touches are hits: its fault figures are the touches that faulted (bench-touch split).
    cf = run.get("criu-fault", {})
    if cf.get("result") and "fault_p50_us" in cf["result"]:
        r = cf["result"]
        f["criu_fault_p50_us"], f["criu_fault_p99_us"], f["criu_faults"] = r["fault_p50_us"], r["fault_p99_us"], r["faults"]
        if "fault_p50_us" in f:
            f["fault_p50_vs_criu"] = f["fault_p50_us"] / r["fault_p50_us"]
            f["fault_p99_vs_criu"] = f["fault_p99_us"] / r["fault_p99_us"]
    if cf.get("service"):
        f["criu_daemon_fault_p50_us"], f["criu_daemon_fault_p99_us"] = cf["service"]["p50_us"], cf["service"]["p99_us"]
    ci = run.get(f"criu-idle-{big}", {}).get("meta")
    if ci:
        f["criu_downtime_ms"] = downtime_ms(ci)
        f["criu_total_ms"] = num(ci, "last_page_ms") - num(ci, "last_tick_b")
        f["criu_transfer_mb_per_s"] = big * (1 << 20) / 1e3 / (num(ci, "last_page_ms") - num(ci, "first_tick_a"))
        if "downtime_lazy_ms" in f:
            f["downtime_idle_vs_criu"] = f["downtime_lazy_ms"] / f["criu_downtime_ms"]
        if "total_lazy_ms" in f:
            f["total_vs_criu"] = f["total_lazy_ms"] / f["criu_total_ms"]
    li = run.get(f"idle-{big}-0", {})
    if li.get("stats") and li.get("meta"):  # lazymig's by CRIU's measure: running on A to the last page
        f["transfer_mb_per_s"] = big * (1 << 20) / 1e3 / (li["stats"]["end_epoch_ms"] - num(li["meta"], "first_tick_a"))
    ch = run.get("criu-heavy", {})
    if ch.get("meta") and ch.get("result"):
        f["criu_random_pass_s"] = ch["result"]["pass_s"]
        f["criu_heavy_transfer_mb_per_s"] = big * (1 << 20) / 1e3 / (num(ch["meta"], "last_page_ms") - num(ch["meta"], "first_tick_a"))
        if "random_pass_s" in f:
            f["random_pass_vs_criu"] = f["random_pass_s"] / ch["result"]["pass_s"]
    cp = run.get("criu-pass", {}).get("result")
    if cp:
        f["criu_first_pass_s"] = cp["pass_s"]
        if "first_pass_s" in f:
            f["first_pass_vs_criu"] = f["first_pass_s"] / cp["pass_s"]
    effective_downtime(run, f)
    cow_tree(run, f)
    return {k: v for k, v in f.items() if v is not None}


def cow_tree(run, f):
    """A tree of 4 sharing MIB copy-on-write migrated (RAW/cowtree-MIB): the summed Pss of its processes on A
    once every page is in (each shared page counted once), against the memory they share."""
    for name, e in run.items():
        m = e.get("meta", {})
        if m.get("kind") != "cowtree" or not m.get("pss_a_kib"):
            continue
        mib = int(m["mib"])
        f["tree_cow_shared_mib"] = mib
        f["tree_cow_memory_on_a_gib"] = num(m, "pss_a_kib") / (1 << 20)
        f["tree_cow_memory_on_a_vs_shared"] = num(m, "pss_a_kib") / 1024 / mib
        f["tree_cow_rss_summed_on_a_gib"] = num(m, "rss_a_kib") / (1 << 20)
        if m.get("pss_b_kib"):
            f["tree_cow_memory_on_b_gib"] = num(m, "pss_b_kib") / (1 << 20)
        if m.get("downtime_ms"):
            f["tree_cow_downtime_ms"] = num(m, "downtime_ms")


def effective_downtime(run, f):
    """bench-tick's largest tick gap less one tick, per flow and size (RAW/tick-FLOW-MIB, criu-tick-MIB);
    downtime_vs_criu is migrate's against CRIU's at 1 GiB."""
    for name, e in run.items():
        m = e.get("meta", {})
        if m.get("kind") != "service":
            continue
        mib, flow = int(m["mib"]), m["flow"]
        f[f"downtime_eff_{flow}_{mib}m_ms"] = (num(m, "max_gap_us") - num(m, "tick_us")) / 1e3
        f[f"gap_before_{flow}_{mib}m_ms"] = num(m, "gap_before_us") / 1e3
        lat = e.get("stats", {}).get("fault_latency_us")  # the destination daemon's waits of the ticking threads
        if lat and e["stats"].get("faults"):
            f[f"tick_fault_p50_{flow}_{mib}m_us"], f[f"tick_fault_p99_{flow}_{mib}m_us"] = lat["p50"], lat["p99"]
    for mib, label in ((64, "64m"), (1024, "1g")):
        ours, criu = f.get(f"downtime_eff_migrate_{mib}m_ms"), f.get(f"downtime_eff_criu_{mib}m_ms")
        if ours is not None and criu:
            f[f"downtime_vs_criu_{label}"] = ours / criu
    if "downtime_vs_criu_1g" in f:
        f["downtime_vs_criu"] = f["downtime_vs_criu_1g"]
    lo, hi = f.get("downtime_eff_migrate_64m_ms"), f.get("downtime_eff_migrate_4096m_ms")
    if lo and hi is not None:
        f["downtime_4g_vs_64m"] = hi / lo
    # The 8-thread workload against the single-threaded one, at the smallest size both ran.
    for mib in sorted({int(k.split("_")[3][:-1]) for k in f if k.startswith("downtime_eff_migrate-8t_")}):
        one, eight = f.get(f"downtime_eff_migrate_{mib}m_ms"), f.get(f"downtime_eff_migrate-8t_{mib}m_ms")
        if one and eight is not None:
            f["downtime_8threads_vs_1"] = eight / one
            f["downtime_8threads_mib"] = mib
            for q in ("p50", "p99"):  # the same migrations' fault latency, background running
                one_q, eight_q = f.get(f"tick_fault_{q}_migrate_{mib}m_us"), f.get(f"tick_fault_{q}_migrate-8t_{mib}m_us")
                if one_q and eight_q is not None:
                    f[f"fault_{q}_8threads_vs_1"] = eight_q / one_q
            break
    # 100 threads (99 parked) against one: what dumping and recreating threads costs the downtime.
    for mib in sorted({int(k.split("_")[3][:-1]) for k in f if k.startswith("downtime_eff_migrate-100t_")}):
        one, many = f.get(f"downtime_eff_migrate_{mib}m_ms"), f.get(f"downtime_eff_migrate-100t_{mib}m_ms")
        if one and many is not None:
            f["downtime_100threads_vs_1"] = many / one
            f["downtime_100threads_mib"] = mib
            # issue 12's own words: 100 threads "inside the downtime goal", migrate <= 0.5x CRIU's at
            # the size — against CRIU migrating the single-threaded workload (stricter than CRIU with 100)
            criu = f.get(f"downtime_eff_criu_{mib}m_ms")
            if criu:
                f["downtime_100threads_vs_criu"] = many / criu
            break
    # The 4-process tree against the single process of the same total memory and work, per size;
    # downtime_tree4_vs_single is the smallest size's (the one the 8-thread ratio uses too).
    tree_sizes = sorted({int(k.split("_")[3][:-1]) for k in f if k.startswith("downtime_eff_migrate-tree4_")})
    for mib in tree_sizes:
        one, tree = f.get(f"downtime_eff_migrate_{mib}m_ms"), f.get(f"downtime_eff_migrate-tree4_{mib}m_ms")
        if one and tree is not None:
            f[f"downtime_tree4_vs_single_{mib}m" if mib != 1024 else "downtime_tree4_vs_single_1g"] = tree / one
            if "downtime_tree4_vs_single" not in f:
                f["downtime_tree4_vs_single"] = tree / one
                f["downtime_tree4_mib"] = mib


def summarise(runs):
    keys = sorted({k for r in runs for k in r})
    out = {}
    for k in keys:
        vals = [r[k] for r in runs if k in r]
        out[k] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}
    return out


# --- charts (plain SVG: no plotting library on this machine) -----------------------------------
def tick(v):
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def svg_chart(path, title, xlabel, ylabel, series, logx=False):
    """series: [(label, [(x, y)...])]. A line chart with axes, ticks and a legend."""
    import math
    w, h, l, r, t, b = 720, 420, 70, 20, 40, 50
    pts = [p for _, s in series for p in s if (p[0] > 0 or not logx)]
    if not pts:
        return
    fx = (lambda v: math.log10(max(v, 1e-9))) if logx else (lambda v: v)
    xs, ys = [fx(p[0]) for p in pts], [p[1] for p in pts]
    x0, x1 = (math.floor(min(xs)), math.ceil(max(xs))) if logx else (0, max(xs) or 1)
    y0, y1 = 0, max(ys) or 1
    X = lambda v: l + (fx(v) - x0) / ((x1 - x0) or 1) * (w - l - r)
    Y = lambda v: h - b - (v - y0) / ((y1 - y0) or 1) * (h - t - b)
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>',
         f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
         f'<line x1="{l}" y1="{h - b}" x2="{w - r}" y2="{h - b}" stroke="black"/>',
         f'<line x1="{l}" y1="{t}" x2="{l}" y2="{h - b}" stroke="black"/>',
         f'<text x="{(l + w - r) / 2}" y="{h - 12}" text-anchor="middle">{xlabel}</text>',
         f'<text x="16" y="{(t + h - b) / 2}" text-anchor="middle" transform="rotate(-90 16 {(t + h - b) / 2})">{ylabel}</text>']
    if logx:
        for e in range(x0, x1 + 1):
            xv = l + (e - x0) / ((x1 - x0) or 1) * (w - l - r)
            o.append(f'<line x1="{xv}" y1="{h - b}" x2="{xv}" y2="{t}" stroke="#ddd"/>')
            o.append(f'<text x="{xv}" y="{h - b + 16}" text-anchor="middle">{10 ** e:g}</text>')
    else:
        for i in range(6):
            v = x0 + (x1 - x0) * i / 5
            o.append(f'<text x="{X(v)}" y="{h - b + 16}" text-anchor="middle">{tick(v)}</text>')
    for i in range(6):
        v = y0 + (y1 - y0) * i / 5
        o.append(f'<line x1="{l}" y1="{Y(v)}" x2="{w - r}" y2="{Y(v)}" stroke="#eee"/>')
        o.append(f'<text x="{l - 6}" y="{Y(v) + 4}" text-anchor="end">{tick(v)}</text>')
    for i, (label, s) in enumerate(series):
        c = COLORS[i % len(COLORS)]
        s = [p for p in s if p[0] > 0 or not logx]
        if s:
            o.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                     + " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in s) + '"/>')
        o.append(f'<rect x="{l + 12}" y="{t + 8 + i * 18}" width="14" height="4" fill="{c}"/>')
        o.append(f'<text x="{l + 32}" y="{t + 14 + i * 18}">{label}</text>')
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")


def charts(out, run, big, rtts):
    cdf = []
    for rtt in rtts:
        res = run.get(f"fault-{rtt}", {}).get("result")
        if res and "cdf_us" in res:
            cdf.append((f"lazymig, +{rtt // 1000} ms RTT" if rtt else "lazymig",
                        [(v, p) for p, v in res.get("fault_cdf_us", res["cdf_us"])]))
    res = run.get("criu-fault", {}).get("result")
    if res and "fault_cdf_us" in res:
        cdf.append(("CRIU 4.1.1 (touches that faulted)", [(v, p) for p, v in res["fault_cdf_us"]]))
    svg_chart(os.path.join(out, "fault-latency-cdf.svg"), "Fault latency as the process sees it (run 1)",
              "latency (us, log scale)", "percent of faults", cdf, logx=True)
    for name, label in ((f"heavy-0", "random pass"), (f"pass-0", "sequential pass")):
        st = run.get(name, {}).get("stats")
        if not st or "timeline" not in st:
            continue
        tl = st["timeline"]
        step = tl["step_ms"] / 1000
        mib = 4096 / (1 << 20)
        series = [(kind.replace("_", "-") + " (MiB)", [(i * step, v * mib) for i, v in enumerate(tl[kind])])
                  for kind in ("fault", "fault_around", "background")]
        svg_chart(os.path.join(out, f"pages-in-{name.split('-')[0]}.svg"),
                  f"Pages in over time, {big} MiB, {label} right after restore (run 1)",
                  "seconds since the daemon started", "MiB in, by how", series)


# --- the report ----------------------------------------------------------------------------------
# Why CRIU's figures are missing (OUT/raw/criu-na.txt, written by bench.sh when criu-probe.sh says
# the reference cannot run here), or None.
CRIU_NA = None


def fmt(s, key, unit="", digits=0):
    if key not in s:
        return f"n/a: {CRIU_NA}" if CRIU_NA and "criu" in key else "n/a"
    m = s[key]
    if m["n"] == 1:
        return f"{m['median']:.{digits}f}{unit}"
    return f"{m['median']:.{digits}f}{unit} ({m['min']:.{digits}f}–{m['max']:.{digits}f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--quick", default="0")
    ap.add_argument("--big", type=int, default=1024)
    ap.add_argument("--sizes", default="256 1024 4096")
    ap.add_argument("--rtts", default="0 1000 10000")
    ap.add_argument("--elapsed-s", type=int, default=0)
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split()]
    rtts = [int(x) for x in a.rtts.split()]
    rawdir = os.path.join(a.out, "raw")
    global CRIU_NA
    na = os.path.join(rawdir, "criu-na.txt")
    if os.path.exists(na):
        with open(na) as f:
            CRIU_NA = f.read().strip() or "the reference CRIU cannot run here"
    rundirs = sorted(d for d in os.listdir(rawdir) if d.startswith("r"))
    if not rundirs:
        raise SystemExit("report: no runs in " + rawdir)
    runs = [load_run(os.path.join(rawdir, d)) for d in rundirs]
    per_run = [run_figures(r, a.big, sizes, rtts) for r in runs]
    s = summarise(per_run)
    charts(a.out, runs[0], a.big, rtts)

    quick = a.quick == "1"
    ratio_keys = ["encrypted_background_vs_plain", "encrypted_fault_p50_vs_plain", "encrypted_fault_p99_vs_plain",
                  "fault_p50_vs_floor", "fault_p99_vs_floor", "background_vs_raw_tcp", "heavy_vs_idle",
                  "resume_4g_vs_256m", "first_pass_vs_raw_tcp", "total_vs_eager", "downtime_vs_criu",
                  "downtime_vs_criu_64m", "downtime_vs_criu_1g", "downtime_4g_vs_64m", "downtime_8threads_vs_1", "downtime_tree4_vs_single",
                  "downtime_tree4_vs_single_64m", "downtime_tree4_vs_single_1g", "fault_p50_8threads_vs_1", "fault_p99_8threads_vs_1", "downtime_100threads_vs_1", "downtime_100threads_vs_criu", "downtime_idle_vs_criu",
                  "fault_p50_under_background_vs_floor", "fault_p99_under_background_vs_floor",
                  "first_pass_vs_criu", "total_vs_criu", "fault_p50_vs_criu", "fault_p99_vs_criu",
                  "tree_cow_memory_on_a_gib", "tree_cow_memory_on_a_vs_shared"]
    for rtt in rtts[1:]:
        ratio_keys += [k + f"@{rtt // 1000}ms" for k in ("fault_p50_vs_floor", "fault_p99_vs_floor",
                       "fault_p50_under_background_vs_floor", "fault_p99_under_background_vs_floor",
                       "background_vs_raw_tcp", "heavy_vs_idle", "first_pass_vs_raw_tcp", "total_vs_eager")]
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except StopIteration:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    report = {
        "machine": {"host": platform.node(), "kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
                    "memory_gib": round(mem_gib, 1)},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit, "quick": quick, "runs": len(runs), "workload_mib": a.big, "sizes_mib": sizes,
        "added_rtt_us": rtts, "elapsed_s": a.elapsed_s, "prewarmed": True,
        "resume_4g_vs_256m_uses_mib": max(sizes),
        "figures": s,
        "ratios": {k: s[k]["median"] for k in ratio_keys if k in s},
        "ratio_ranges": {k: [s[k]["min"], s[k]["max"]] for k in ratio_keys if k in s},
        "per_run": per_run,
    }
    report["goals"] = {k: {"goal": f"{op} {g}", "met": (s[k]["median"] <= g if op == "<=" else s[k]["median"] >= g)}
                       for k, (op, g) in GOALS.items() if k in s}
    json.dump(report, open(os.path.join(a.out, "report.json"), "w"), indent=2)

    big_label = f"{a.big} MiB"
    top = f"{max(sizes) // 1024} GiB" if max(sizes) >= 1024 else f"{max(sizes)} MiB"
    L = [f"# lazymig benchmark report{' (QUICK)' if quick else ''}", "",
         f"`make bench{' QUICK=1' if quick else ''}` on {report['machine']['host']} ({cpu}, {os.cpu_count()} CPUs, "
         f"{mem_gib:.0f} GiB, kernel {platform.release()}), {report['date']}, commit {commit}; "
         f"{len(runs)} run(s), medians with (min–max); {a.elapsed_s} s in all.",
         "Hosts: the lm-src (B) and lm-dst (A) network namespaces on this one machine, joined by a veth pair. "
         "Memory is pre-warmed before every migration (this VM hands freed memory back to its host: a first touch "
         "costs ~10 us a page instead of ~1.4 us). Added round-trip latency comes from a delaying TCP proxy "
         "(it/bench/delay-proxy.c) on A, as this kernel has no netem; the baselines of those rows go through the same proxy.",
         "", "## Against the goals", "",
         "| # | figure | lazymig | baseline | ratio | goal | met |", "|---|---|---|---|---|---|---|"]

    def row(n, name, val, base, key):
        if key not in s:
            L.append(f"| {n} | {name} | {val} | {base} | n/a | | |")
            return
        op, g = GOALS.get(key, ("", None))
        met = "" if g is None else ("yes" if report["goals"][key]["met"] else "**NO**")
        L.append(f"| {n} | {name} | {val} | {base} | {fmt(s, key, digits=2)} | {op} {g if g is not None else ''} | {met} |")

    row(1, f"downtime, lazy, {top} vs 256 MiB", fmt(s, f"downtime_lazy_{max(sizes)}m_ms", " ms"),
        fmt(s, f"downtime_lazy_{min(sizes)}m_ms", " ms"), "resume_4g_vs_256m")
    row(1, "effective downtime, migrate vs CRIU (1 GiB)", fmt(s, "downtime_eff_migrate_1024m_ms", " ms"),
        "CRIU " + fmt(s, "downtime_eff_criu_1024m_ms", " ms"), "downtime_vs_criu")
    row(1, "effective downtime, migrate vs CRIU (64 MiB)", fmt(s, "downtime_eff_migrate_64m_ms", " ms"),
        "CRIU " + fmt(s, "downtime_eff_criu_64m_ms", " ms"), "downtime_vs_criu_64m")
    row(1, "effective downtime, migrate, 4 GiB vs 64 MiB", fmt(s, "downtime_eff_migrate_4096m_ms", " ms"),
        fmt(s, "downtime_eff_migrate_64m_ms", " ms"), "downtime_4g_vs_64m")
    if "downtime_8threads_mib" in s:
        m8 = int(s["downtime_8threads_mib"]["median"])
        row(1, f"effective downtime, migrate, 8 threads vs 1 ({m8} MiB)", fmt(s, f"downtime_eff_migrate-8t_{m8}m_ms", " ms"),
            fmt(s, f"downtime_eff_migrate_{m8}m_ms", " ms"), "downtime_8threads_vs_1")
        for q in ("p50", "p99"):
            row(1, f"fault latency {q} during that migration, 8 threads vs 1", fmt(s, f"tick_fault_{q}_migrate-8t_{m8}m_us", " us"),
                fmt(s, f"tick_fault_{q}_migrate_{m8}m_us", " us"), f"fault_{q}_8threads_vs_1")
    if "downtime_100threads_mib" in s:
        m100 = int(s["downtime_100threads_mib"]["median"])
        row(1, f"effective downtime, migrate, 100 threads (99 parked) vs 1 ({m100} MiB)",
            fmt(s, f"downtime_eff_migrate-100t_{m100}m_ms", " ms"), fmt(s, f"downtime_eff_migrate_{m100}m_ms", " ms"),
            "downtime_100threads_vs_1")
        row(1, f"the same 100 threads against CRIU migrating the single-threaded workload ({m100} MiB)",
            fmt(s, f"downtime_eff_migrate-100t_{m100}m_ms", " ms"), "CRIU " + fmt(s, f"downtime_eff_criu_{m100}m_ms", " ms"),
            "downtime_100threads_vs_criu")
    for mib, key in ((64, "downtime_tree4_vs_single_64m"), (1024, "downtime_tree4_vs_single_1g")):
        if f"downtime_eff_migrate-tree4_{mib}m_ms" in s:
            size = "1 GiB" if mib == 1024 else f"{mib} MiB"
            row(1, f"effective downtime, migrate, a tree of 4 processes vs 1 process ({size} in all)",
                fmt(s, f"downtime_eff_migrate-tree4_{mib}m_ms", " ms"), fmt(s, f"downtime_eff_migrate_{mib}m_ms", " ms"), key)
    row(1, f"downtime of an idle process, lazy vs CRIU ({big_label})", fmt(s, "downtime_lazy_ms", " ms"),
        "CRIU " + fmt(s, "criu_downtime_ms", " ms"), "downtime_idle_vs_criu")
    if "tree_cow_shared_mib" in s:
        cm = int(s["tree_cow_shared_mib"]["median"])
        row(1, f"memory on A of a tree of 4 sharing {cm} MiB copy-on-write (summed Pss, migrate)",
            fmt(s, "tree_cow_memory_on_a_gib", " GiB", 2), f"shared {cm / 1024:g} GiB (on B "
            + fmt(s, "tree_cow_memory_on_b_gib", " GiB", 2) + "; Rss summed on A " + fmt(s, "tree_cow_rss_summed_on_a_gib", " GiB", 2)
            + "; downtime " + fmt(s, "tree_cow_downtime_ms", " ms") + ")", "tree_cow_memory_on_a_vs_shared")
    row(2, "fault latency p50", fmt(s, "fault_p50_us", " us"), "floor " + fmt(s, "floor_us", " us"), "fault_p50_vs_floor")
    row(2, "fault latency p99", fmt(s, "fault_p99_us", " us"), "floor p99 " + fmt(s, "floor_p99_us", " us"), "fault_p99_vs_floor")
    row(2, "fault latency p50, background at full speed", fmt(s, "fault_bg_p50_us", " us"), "floor " + fmt(s, "floor_us", " us"),
        "fault_p50_under_background_vs_floor")
    row(2, "fault latency p99, background at full speed", fmt(s, "fault_bg_p99_us", " us"),
        "floor p99 " + fmt(s, "floor_p99_us", " us"), "fault_p99_under_background_vs_floor")
    row(3, "background, idle process", fmt(s, "background_idle_mb_per_s", " MB/s"),
        "raw TCP " + fmt(s, "raw_tcp_mb_per_s", " MB/s"), "background_vs_raw_tcp")
    row(3, "background, idle process, encrypted (TLS 1.3) vs --no-encryption", fmt(s, "background_idle_mb_per_s", " MB/s"),
        "plain " + fmt(s, "plain_background_idle_mb_per_s", " MB/s"), "encrypted_background_vs_plain")
    row(2, "fault latency p50, encrypted vs --no-encryption", fmt(s, "fault_p50_us", " us"),
        "plain " + fmt(s, "plain_fault_p50_us", " us"), "encrypted_fault_p50_vs_plain")
    row(2, "fault latency p99, encrypted vs --no-encryption", fmt(s, "fault_p99_us", " us"),
        "plain " + fmt(s, "plain_fault_p99_us", " us"), "encrypted_fault_p99_vs_plain")
    row(4, "background, heavy faulting", fmt(s, "background_heavy_mb_per_s", " MB/s"),
        "idle " + fmt(s, "background_idle_mb_per_s", " MB/s"), "heavy_vs_idle")
    row(5, f"first sequential pass, {big_label}", fmt(s, "first_pass_s", " s", 2), "raw TCP " + fmt(s, "raw_tcp_pass_s", " s", 2),
        "first_pass_vs_raw_tcp")
    row(6, f"total, freeze to last page, {big_label}", fmt(s, "total_lazy_ms", " ms"), "eager " + fmt(s, "total_eager_ms", " ms"),
        "total_vs_eager")
    L += ["", "Fault latency: the touches of a lazy restore with the background held back, one page per fault, against "
          f"the floor: a local userfaultfd fault round trip (p50 {fmt(s, 'uffd_fault_p50_us', ' us')}, p99 "
          f"{fmt(s, 'uffd_fault_p99_us', ' us')}) plus a 4 KiB TCP round trip between the hosts, percentile against "
          f"percentile (p99 against the floor's p50: {fmt(s, 'fault_p99_vs_floor_p50', '', 2)})."]
    if len(rtts) > 1:
        L += ["", "## 7. With added round-trip latency", "",
              "| figure | " + " | ".join(f"+{r // 1000} ms" for r in rtts[1:]) + " |", "|---|" + "---|" * (len(rtts) - 1)]
        for name, key, unit, d in (("floor p50 (uffd + 4 KiB RTT)", "floor_us", " us", 0),
                                   ("floor p99", "floor_p99_us", " us", 0),
                                   ("fault p50", "fault_p50_us", " us", 0), ("fault p99", "fault_p99_us", " us", 0),
                                   ("fault p50 / floor", "fault_p50_vs_floor", "", 2),
                                   ("fault p99 / floor", "fault_p99_vs_floor", "", 2),
                                   ("fault p50, background running", "fault_bg_p50_us", " us", 0),
                                   ("fault p99, background running", "fault_bg_p99_us", " us", 0),
                                   ("fault p50 / floor, background running", "fault_p50_under_background_vs_floor", "", 2),
                                   ("fault p99 / floor, background running", "fault_p99_under_background_vs_floor", "", 2),
                                   ("raw TCP", "raw_tcp_mb_per_s", " MB/s", 0),
                                   ("background, idle", "background_idle_mb_per_s", " MB/s", 0),
                                   ("background / raw TCP", "background_vs_raw_tcp", "", 2),
                                   ("background, heavy / idle", "heavy_vs_idle", "", 2),
                                   ("first pass", "first_pass_s", " s", 2),
                                   ("first pass / raw TCP", "first_pass_vs_raw_tcp", "", 2),
                                   ("total, lazy", "total_lazy_ms", " ms", 0), ("total, eager", "total_eager_ms", " ms", 0),
                                   ("total lazy / eager", "total_vs_eager", "", 2)):
            L.append(f"| {name} | " + " | ".join(fmt(s, f"{key}@{r // 1000}ms", unit, d) for r in rtts[1:]) + " |")
        for key, (op, g) in GOALS.items():
            for r in rtts[1:]:
                k = f"{key}@{r // 1000}ms"
                if k in s:
                    met = s[k]["median"] <= g if op == "<=" else s[k]["median"] >= g
                    if not met:
                        L.append(f"\nAt +{r // 1000} ms, {key} is {s[k]['median']:.2f}: the goal {op} {g} is missed.")
    L += ["", "## 1. Downtime by size (frozen on B to running on A, JVM start-ups included)", "",
          "Lazy, served from the frozen process: `dump --lazy-pages` on B (CRIU's flow; no page written). "
          "Lazy, from image files: `dump`, then `lazy-pages --lazy-server` on B. "
          "Eager: `dump`, the images copied to A over TCP, `restore`.", "",
          "| size | lazy, from the frozen process | lazy, from image files | eager |", "|---|---|---|---|"]
    for mib in sizes:
        L.append(f"| {mib} MiB | {fmt(s, f'downtime_lazy_{mib}m_ms', ' ms')} | {fmt(s, f'downtime_files_{mib}m_ms', ' ms')} "
                 f"| {fmt(s, f'downtime_eager_{mib}m_ms', ' ms')} |")
    L += ["", "## 8. Dump and eager restore", "",
          f"- Dump, frozen time per GiB of pages: {fmt(s, 'dump_frozen_ms_per_gib', ' ms')}",
          "- Eager restore (restorer time, pages written / time): "
          + ", ".join(f"{mib} MiB {fmt(s, f'eager_restore_{mib}m_mb_per_s', ' MB/s')}" for mib in sizes),
          "", "## 9. Peak RSS while migrating (goal: under 64 MiB plus configured buffers, flat in size)", "",
          "| size | daemon (A) | dump --lazy-pages serving (B) | lazy-pages --lazy-server (B) |", "|---|---|---|---|"]
    for mib in sizes:
        L.append(f"| {mib} MiB | {fmt(s, f'daemon_peak_rss_{mib}m_mib', ' MiB')} | {fmt(s, f'server_peak_rss_{mib}m_mib', ' MiB')} "
                 f"| {fmt(s, f'server_files_peak_rss_{mib}m_mib', ' MiB')} |")
    dsizes = sorted({int(k.split("_")[3][:-1]) for k in s if k.startswith("downtime_eff_")})
    L += ["", "## Effective downtime: a workload that keeps working (bench-tick, 64 pages every 2 ms)", "",
          "The largest gap between two ticks, less one tick: freeze on B to the first tick of useful work on A, every "
          "page the tick waited for included. The largest gap before the migration is in brackets (the machine's own noise).", "",
          "| size | " + " | ".join(FLOWS) + " |", "|---|" + "---|" * len(FLOWS)]
    for mib in dsizes:
        L.append(f"| {mib} MiB | " + " | ".join(f"{fmt(s, f'downtime_eff_{fl}_{mib}m_ms', ' ms')} "
                                                 f"[{fmt(s, f'gap_before_{fl}_{mib}m_ms', ' ms', 1)}]" for fl in FLOWS) + " |")
    L += ["", f"## 10. CRIU 4.1.1 side by side ({big_label}, no added latency)", "",
          "| figure | lazymig | CRIU | lazymig / CRIU |", "|---|---|---|---|",
          f"| downtime, idle process | {fmt(s, 'downtime_lazy_ms', ' ms')} | {fmt(s, 'criu_downtime_ms', ' ms')} | {fmt(s, 'downtime_idle_vs_criu', '', 2)} |",
          f"| fault p50 | {fmt(s, 'fault_p50_us', ' us')} | {fmt(s, 'criu_fault_p50_us', ' us')} | {fmt(s, 'fault_p50_vs_criu', '', 2)} |",
          f"| fault p99 | {fmt(s, 'fault_p99_us', ' us')} | {fmt(s, 'criu_fault_p99_us', ' us')} | {fmt(s, 'fault_p99_vs_criu', '', 2)} |",
          f"| first sequential pass | {fmt(s, 'first_pass_s', ' s', 2)} | {fmt(s, 'criu_first_pass_s', ' s', 2)} | {fmt(s, 'first_pass_vs_criu', '', 2)} |",
          f"| first random pass (heavy faulting) | {fmt(s, 'random_pass_s', ' s', 2)} | {fmt(s, 'criu_random_pass_s', ' s', 2)} | {fmt(s, 'random_pass_vs_criu', '', 2)} |",
          f"| transfer, idle (running on A to last page) | {fmt(s, 'transfer_mb_per_s', ' MB/s')} | {fmt(s, 'criu_transfer_mb_per_s', ' MB/s')} | |",
          f"| total, freeze to last page | {fmt(s, 'total_lazy_ms', ' ms')} | {fmt(s, 'criu_total_ms', ' ms')} | {fmt(s, 'total_vs_criu', '', 2)} |",
          "",
          f"CRIU's background transfer starts with its restore and cannot be held back, so most of its touches are hits; "
          f"its fault figures are those of the touches that faulted ({fmt(s, 'criu_faults')} of {fmt(s, 'fault_pages')} pages; "
          "bench-touch asks mincore(2) before each touch). Its daemon's own time per fault, from its -v4 log (#PF to the "
          f"uffd_copy covering it): p50 {fmt(s, 'criu_daemon_fault_p50_us', ' us')}, p99 {fmt(s, 'criu_daemon_fault_p99_us', ' us')}. "
          "lazymig's fault run holds its background back (--lazy-idle-timeout), so every touch faults.",
          "", "## Goals missed", ""]
    missed = [f"- {k}: {s[k]['median']:.2f}, goal {op} {g}" for k, (op, g) in GOALS.items()
              if k in s and not report["goals"][k]["met"]]
    L += missed or ["- none"]
    if quick:
        L += ["", f"QUICK: one run, {max(sizes)} MiB in place of 4 GiB for resume_4g_vs_256m, no +1 ms row."]
    L += ["", "Charts: fault-latency-cdf.svg, pages-in-heavy.svg, pages-in-pass.svg. Raw results: bench/raw/."]
    open(os.path.join(a.out, "report.md"), "w").write("\n".join(L) + "\n")
    print("\n".join(L))


if __name__ == "__main__":
    main()
