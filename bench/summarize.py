#!/usr/bin/env python3
"""Summarize a bench/compare.sh result directory.

Reads <workload>.<server>.<round>.json (ferrokeeper-bench --json output) and
<workload>.<server>.<round>.proc.json (server CPU/RSS sampled by compare.sh),
and prints, per workload, the median over rounds of each figure for Apache
ZooKeeper and ferrokeeper and the ratio ferrokeeper/ZooKeeper, as a Markdown
table, followed by the per-round values of the headline figures. With
floor.<round>.json (ferrokeeper-bench --mode floor), it also sets each
synchronous workload's latency targets beside what the machine itself allows
with no server work: a loopback round trip for sync-get, that plus a write and
fdatasync for sync-set.
Usage: summarize.py DIR
"""
import glob
import json
import os
import re
import statistics
import sys

SERVERS = ("zookeeper", "ferrokeeper")
ORDER = ["get-heavy", "set-heavy", "create-eseq", "mixed", "sync-get", "sync-set", "fanout"]
# Issue 3 targets: throughput ratio floor per workload; latency ratio ceilings everywhere.
THROUGHPUT_TARGET = {"get-heavy": 2.0, "set-heavy": 1.5, "create-eseq": 1.5, "mixed": 1.8}
LATENCY_TARGET = {"p99 us": 0.5, "p99.9 us": 0.3}
# The machine floor (floor.<round>.json field) under each synchronous workload.
FLOOR_OF = {"sync-get": "round_trip_us", "sync-set": "round_trip_plus_fdatasync_us"}
FLOOR_NAMES = {
    "round_trip_us": "loopback round trip (echo)",
    "fdatasync_us": "write + fdatasync",
    "round_trip_plus_fdatasync_us": "round trip + write + fdatasync",
}
PERCENTILE_FIELD = {"p50 us": "p50", "p99 us": "p99", "p99.9 us": "p999"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_figures(r):
    t = r["total"]
    lat = t["latency_us"]
    return {
        "ops/s": t["ops_per_sec"],
        "p50 us": lat["p50"],
        "p90 us": lat["p90"],
        "p99 us": lat["p99"],
        "p99.9 us": lat["p999"],
        "max us": lat["max"],
        "errors": t["errors"] + len(r.get("failures", [])),
    }


def fanout_figures(r):
    return {
        "all notified p50 ms": r["all_notified_ms"]["p50"],
        "all notified max ms": r["all_notified_ms"]["max"],
        "median watcher p50 ms": r["median_notified_ms"]["p50"],
        "setData reply p50 ms": r["set_reply_ms"]["p50"],
        "errors": len(r.get("failures", [])),
    }


def proc_figures(p):
    if not p or not p.get("wall_s"):
        return {}
    return {"server CPU (cores)": p["cpu_ticks"] / p["clk_tck"] / p["wall_s"], "server RSS MiB": p["rss_kb"] / 1024}


def fmt(v, key):
    if v is None:
        return "-"
    if key == "ops/s":
        return f"{v:,.0f}"
    if key == "errors":
        return f"{v:.0f}"
    if key.endswith("(cores)"):
        return f"{v:.2f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}"


def floor_rounds(d):
    return [r for r in (load(p) for p in sorted(glob.glob(os.path.join(d, "floor.*.json")))) if r]


def floor_medians(rounds):
    """Median over rounds of each floor percentile: {floor: {"p50": us, ...}}."""
    return {
        name: {f: statistics.median(r[name][f] for r in rounds) for f in ("p50", "p90", "p99", "p999", "max")}
        for name in FLOOR_NAMES
    }


def print_floors(d, med_by_workload):
    rounds = floor_rounds(d)
    if not rounds:
        return
    fl, n = floor_medians(rounds), len(rounds)
    print()
    print(f"Machine floors, no server work (median of {n} rounds, ferrokeeper-bench --mode floor):")
    print()
    print("| floor | p50 us | p90 us | p99 us | p99.9 us | max us |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, title in FLOOR_NAMES.items():
        f = fl[name]
        print(f"| {title} | " + " | ".join(fmt(f[k], "us") for k in ("p50", "p90", "p99", "p999", "max")) + " |")
    stalls = [r.get("fdatasync_over_1ms_per_s") for r in rounds]
    stalls = [x for x in stalls if x is not None]
    if stalls:
        print()
        print(
            "fdatasyncs over 1 ms (the disk's stalls; each holds up every write in flight), per second of syncing: "
            + ", ".join(f"{x:.1f}" for x in stalls)
            + " by round."
        )
    print()
    print("Synchronous latency targets against the floor under them:")
    print()
    print("| workload | figure | target (us) | machine floor (us) | room above the floor (us) | ferrokeeper (us) | ferrokeeper above the floor (us) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for wl, floor_name in FLOOR_OF.items():
        med = med_by_workload.get(wl)
        if not med:
            continue
        for k, t in LATENCY_TARGET.items():
            zk, fk = med["zookeeper"].get(k), med["ferrokeeper"].get(k)
            if zk is None or fk is None:
                continue
            target, floor = t * zk, fl[floor_name][PERCENTILE_FIELD[k]]
            room = f"{target - floor:.1f}" + (" (unreachable)" if target < floor else "")
            print(f"| {wl} | {k} | {target:.1f} | {floor:.1f} | {room} | {fk:.1f} | {fk - floor:.1f} |")


def main(d):
    runs = {}  # (workload, server) -> list of figure dicts, by round
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        m = re.match(r"(.+)\.(zookeeper|ferrokeeper)\.(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        wl, server, rnd = m.group(1), m.group(2), int(m.group(3))
        r = load(path)
        if r is None:
            figs = {"errors": 1.0}
        elif r.get("mode") == "watch-fanout":
            figs = fanout_figures(r)
        else:
            figs = load_figures(r)
        figs.update(proc_figures(load(path[: -len(".json")] + ".proc.json")))
        runs.setdefault((wl, server), []).append((rnd, figs))

    workloads = sorted({wl for wl, _ in runs}, key=lambda w: (ORDER.index(w) if w in ORDER else 99, w))
    machine = os.path.join(d, "machine.txt")
    if os.path.exists(machine):
        print("```")
        print(open(machine).read().rstrip())
        print("```\n")
    print("| workload | figure | ZooKeeper | ferrokeeper | ferrokeeper/ZooKeeper | target |")
    print("|---|---|---:|---:|---:|---|")
    headline = []
    med_by_workload = {}
    for wl in workloads:
        med = {}
        keys = []
        for s in SERVERS:
            rows = [f for _, f in sorted(runs.get((wl, s), []))]
            med[s] = {}
            for row in rows:
                for k in row:
                    if k not in keys:
                        keys.append(k)
            for k in keys:
                vals = [row[k] for row in rows if k in row]
                if vals:
                    med[s][k] = sum(vals) if k == "errors" else statistics.median(vals)
            headline.append((wl, s, rows))
        med_by_workload[wl] = med
        first = True
        for k in keys:
            zk, fk = med["zookeeper"].get(k), med["ferrokeeper"].get(k)
            ratio = fk / zk if (zk and fk is not None and k != "errors") else None
            target = ""
            if k == "ops/s" and wl in THROUGHPUT_TARGET:
                t = THROUGHPUT_TARGET[wl]
                target = f">= {t}x " + ("met" if ratio and ratio >= t else "MISSED")
            elif k in LATENCY_TARGET:
                t = LATENCY_TARGET[k]
                target = f"<= {t}x " + ("met" if ratio is not None and ratio <= t else "MISSED")
            rtxt = f"{ratio:.2f}x" if ratio is not None else "-"
            print(f"| {wl if first else ''} | {k} | {fmt(zk, k)} | {fmt(fk, k)} | {rtxt} | {target} |")
            first = False
    print()
    print("Per round (ops/s for load workloads, all-notified p50 ms for fan-out):")
    print()
    for wl, s, rows in headline:
        key = "all notified p50 ms" if wl == "fanout" else "ops/s"
        vals = ", ".join(fmt(r.get(key), key) for r in rows)
        print(f"- {wl} {s}: {vals}")
    print_floors(d, med_by_workload)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
